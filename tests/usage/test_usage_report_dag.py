"""The monthly usage report DAG, run for real (`airflow dags test`) against a running api-server: each
tenant's report lands in its own storage and says what the CLI says (REST API vs SQL, same numbers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from conftest import copy_config_tree
from e2e.helpers import run_dag
from isolation.stack import Stack
from usage.usage_db import insert_runs, ms

NOW = datetime.now(UTC)
DAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
FIRST = DAY.replace(day=1)
NEXT_MONTH = (FIRST + timedelta(days=32)).replace(day=1)
PRICES = {"currency": "EUR", "per_slot_hour": 2.0, "per_gb_month_stored": 0.0, "per_gb_landed": 0.0,
          "per_dbu": 0.5, "dbu_per_node_hour": 2.0}
BOT = ("usage_bot", "usage-bot-secret-1")


def at(hh: int, mm: int = 0) -> datetime:
    return DAY + timedelta(hours=hh, minutes=mm)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = copy_config_tree(tmp_path_factory.mktemp("usage-dag"))
    platform_file = root / "tenant_configs" / "_platform.yaml"
    document = yaml.safe_load(platform_file.read_text())
    document["costs"] = PRICES
    platform_file.write_text(yaml.safe_dump(document, sort_keys=False))
    url = f"sqlite:///{root / 'airflow.db'}"
    stack = Stack(root, url, TENANTFLOW_CONFIG_DIR=str(root / "tenant_configs"),
                  AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"))
    stack.cli("airflow", "db", "migrate")
    stack.cli("airflow", "users", "create", "--username", BOT[0], "--password", BOT[1], "--role", "Admin",
              "--firstname", "usage", "--lastname", "bot", "--email", "usage-bot@example.com")
    stack.cli("airflow", "dags", "reserialize")
    engine = sa.create_engine(url)
    insert_runs(engine, [
        {"dag_id": "finance__orders", "task_id": "extract", "start": at(0, 10), "end": at(0, 20), "pool_slots": 1,
         "earlier": [(at(0, 1), at(0, 4))]},  # 600 s + an earlier 180 s try
        {"dag_id": "finance__orders", "task_id": "load", "start": at(0, 20), "end": at(0, 50), "pool_slots": 2,
         "run_id": "second"},  # 1800 s x 2 slots
        {"dag_id": "healthcare__lab_results", "task_id": "databricks", "start": at(0, 5), "end": at(0, 35),
         "pool_slots": 1},
    ], [{"dag_id": "healthcare__lab_results", "task_id": "databricks", "key": "tenantflow_usage",
         "timestamp": at(0, 35), "value": {"kind": "databricks_run", "nodes": 3, "start_ms": ms(at(0, 6)),
                                           "end_ms": ms(at(0, 26)), "node_seconds": 20 * 60 * 3.0}}])
    engine.dispose()
    base = stack.start_api_server()
    stack.env["AIRFLOW_CONN_TENANTFLOW_API"] = json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": stack.port, "login": BOT[0], "password": BOT[1]})
    yield stack, base
    stack.stop()


def test_the_report_dag_writes_each_tenants_month_into_its_storage(stack):
    stack, _ = stack
    run_dag("tenantflow_usage_report", NEXT_MONTH.isoformat(), env=stack.env)
    month = f"{FIRST:%Y-%m}"
    home = Path(stack.env["TENANTFLOW_HOME"])
    finance = json.loads((home / "landing" / "finance" / "_usage" / f"{month}.json").read_text())
    assert finance["tenant"] == "finance" and finance["from"] == FIRST.date().isoformat()
    (totals,) = finance["tenants"]
    assert totals["task_runs"] == 3  # the earlier try came from the task's /tries in the REST API
    assert totals["slot_seconds"] == pytest.approx(180 + 600 + 3600)
    assert totals["cost"]["slots"] == pytest.approx(4380 / 3600 * 2.0, abs=1e-6)
    csv_lines = (home / "landing" / "finance" / "_usage" / f"{month}.csv").read_text().splitlines()
    assert csv_lines[0].startswith("tenant,day,") and csv_lines[1].startswith(f"finance,{DAY.date()},3,")

    healthcare = json.loads((home / "landing" / "healthcare" / "_usage" / f"{month}.json").read_text())
    (hc,) = healthcare["tenants"]
    assert hc["node_seconds"] == pytest.approx(3600) and hc["cost"]["databricks"] == pytest.approx(1.0)
    assert hc["slot_seconds"] == pytest.approx(1800)

    retail = json.loads((home / "landing" / "retail" / "_usage" / f"{month}.json").read_text())
    assert retail["tenants"] == [] and retail["total"] == 0  # nothing used: a report saying so

    # the REST API path (task code) and the SQL path (`tenantflow usage`) agree
    cli = json.loads(stack.cli("tenantflow", "usage", "--from", FIRST.date().isoformat(), "--to",
                               (NEXT_MONTH - timedelta(days=1)).date().isoformat(), "--format", "json").stdout)
    by_tenant = {t["tenant"]: t for t in cli["tenants"]}
    for report in (finance, healthcare):
        (mine,) = report["tenants"]
        assert mine == by_tenant[mine["tenant"]]
