"""Helpers for end-to-end tests that run pipelines through Airflow's own CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import copy_config_tree, run_cli


def json_tail(stdout: str):
    """The JSON document a CLI printed after its log lines."""
    line = next(line for line in reversed(stdout.splitlines()) if line.startswith(("[", "{")))
    return json.loads(line)


def demo_tree(root: Path) -> tuple[Path, dict[str, str]]:
    """A writable copy of the demo configs and DAGs under ``root`` with demo data in ``root/home``:
    (home, the environment that points Airflow and tenantflow at them)."""
    from demo.data import generate_demo_data

    copy_config_tree(root)
    home = root / "home"
    generate_demo_data(home, scale=0.01)
    env = {"TENANTFLOW_CONFIG_DIR": str(root / "tenant_configs"), "TENANTFLOW_HOME": str(home),
           "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags")}
    return home, env


def run_dag(dag_id: str, logical_date: str, env: dict[str, str] | None = None, check: bool = True):
    return run_cli("airflow", "dags", "test", dag_id, logical_date, env=env, check=check, timeout=900)


def last_run_id(dag_id: str, env: dict[str, str] | None = None) -> str:
    runs = json_tail(run_cli("airflow", "dags", "list-runs", dag_id, "-o", "json", env=env).stdout)
    # `dags test` records the logical date as the start date, so another test's run with a later logical date
    # would sort last; its run ids are manual__<time created>: their order is the order the runs were made
    return sorted(runs, key=lambda r: r["run_id"])[-1]["run_id"]


def task_states(dag_id: str, run_id: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """task id -> state of one DAG run, as the metadata DB records them."""
    rows = json_tail(run_cli("airflow", "tasks", "states-for-dag-run", dag_id, run_id, "-o", "json", env=env).stdout)
    return {row["task_id"]: row["state"] for row in rows}


def open_table(identifier: str, home: str | None = None):
    """Load an Iceberg table through the platform's catalog settings (as the load task does)."""
    from tenantflow import naming
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform, tenant_ids

    config_dir = Path(os.environ["TENANTFLOW_CONFIG_DIR"])
    platform = load_platform(config_dir).config
    namespace = identifier.rpartition(".")[0]
    tenant = next(t for t in tenant_ids(config_dir) if naming.owns_namespace(t, namespace))
    catalog = open_catalog("local", platform.catalogs["local"], home or os.environ["TENANTFLOW_HOME"],
                           tenant_id=tenant)
    return catalog.load_table(identifier)
