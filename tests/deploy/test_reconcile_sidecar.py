"""The dag-processor's reconcile sidecar in helm-values/values.yaml runs a real `tenantflow reconcile --watch`."""

from __future__ import annotations

import shlex

import yaml

from conftest import REPO
from tenantflow.cli import build_parser, cmd_reconcile


def test_the_sidecar_runs_the_reconcile_loop_on_the_git_synced_configs():
    values = yaml.safe_load((REPO / "helm-values" / "values.yaml").read_text())
    (sidecar,) = [c for c in values["dagProcessor"]["extraContainers"] if c["name"] == "tenantflow-reconcile"]
    shell, flag, script = sidecar["args"]
    # the Airflow image's entrypoint runs any other first argument as an `airflow` subcommand
    assert (shell, flag) == ("bash", "-c")
    words = shlex.split(script)
    assert words[:2] == ["exec", "tenantflow"]
    args = build_parser().parse_args(words[2:])
    assert args.func is cmd_reconcile and args.watch and 0 < args.interval <= 30
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    assert env["AIRFLOW__TENANTFLOW__CONFIG_DIR"] == "/opt/airflow/dags/repo/tenant_configs"
