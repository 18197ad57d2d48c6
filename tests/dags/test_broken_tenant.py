"""A tenant's broken config is an import error for that tenant's file only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def broken_tree(config_tree: Path, monkeypatch):
    orders = config_tree / "tenant_configs" / "finance" / "pipelines" / "orders.yaml"
    orders.write_text(orders.read_text().replace("  table: orders\n", "  tabel: orders\n", 1))
    monkeypatch.setenv("TENANTFLOW_CONFIG_DIR", str(config_tree / "tenant_configs"))
    return config_tree


def test_broken_tenant_only_breaks_itself(broken_tree: Path):
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(broken_tree / "dags"))
    assert list(dagbag.import_errors) == [str(broken_tree / "dags" / "tenants" / "finance.py")] or [
        os.path.basename(k) for k in dagbag.import_errors] == ["finance.py"]
    message = next(iter(dagbag.import_errors.values()))
    assert "orders.yaml:" in message and "source.tabel: unknown field" in message, message
    tenants = {dag_id.split("__")[0] for dag_id in dagbag.dag_ids if "__" in dag_id}
    assert tenants == {"retail", "healthcare"}
    assert "tenantflow_usage_report" in dagbag.dag_ids  # the platform's DAGs are not a tenant's either


def _json_tail(stdout: str):
    """The JSON document a CLI printed after its log lines."""
    import json

    line = next(line for line in reversed(stdout.splitlines()) if line.startswith("["))
    return json.loads(line)


def test_broken_tenant_is_listed_by_airflow_cli(broken_tree: Path, tmp_path: Path):
    """Through Airflow itself: sync, reserialize (as the dag-processor does), list import errors."""
    from conftest import run_cli

    env = {"AIRFLOW__CORE__DAGS_FOLDER": str(broken_tree / "dags"),
           "TENANTFLOW_CONFIG_DIR": str(broken_tree / "tenant_configs"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}"}
    run_cli("airflow", "db", "migrate", env=env)
    run_cli("tenantflow", "sync", env=env)
    run_cli("airflow", "dags", "reserialize", env=env)
    listing = run_cli("airflow", "dags", "list-import-errors", "-o", "json", env=env, check=False)
    errors = _json_tail(listing.stdout)
    assert [Path(e["filepath"]).name for e in errors] == ["finance.py"], errors
    assert "tenant_configs/finance/pipelines/orders.yaml:11:3: source.tabel: unknown field" in errors[0]["error"]
    listed = _json_tail(run_cli("airflow", "dags", "list", "-o", "json", env=env).stdout)
    dag_ids = {d["dag_id"] for d in listed}
    assert {"retail__sales", "retail__products", "healthcare__lab_results"} <= dag_ids
    assert not any(d.startswith("finance__") for d in dag_ids)
