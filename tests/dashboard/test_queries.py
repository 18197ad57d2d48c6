"""The dashboard's aggregates on a migrated PostgreSQL metadata DB, seeded as tasks leave it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from conftest import run_cli
from dashboard.metadata_seed import Run, Task, add_dags, add_pools, add_runs
from isolation.stack import drop_database, fresh_database
from tenantflow.dashboard import queries

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _stages(rows: int, score: float, quarantined: int, table: str = "orders", load_state: str = "success"):
    return (Task("quality", xcom={"rows": rows, "score": score, "quarantined_rows": quarantined}),
            Task("load", state=load_state, xcom={"table": f"finance.{table}", "rows": rows, "skipped": False},
                 end_offset=dt.timedelta(minutes=6)))


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Iterator[Session]:
    url = fresh_database("dashq")
    home = tmp_path_factory.mktemp("dash-queries")
    run_cli("airflow", "db", "migrate", env={"AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url})
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    add_dags(conn, ["finance__orders", "finance__invoices", "retail__sales", "healthcare__visits", "example_dag"])
    add_pools(conn, {"tenant_finance": 4, "tenant_retail": 2})
    add_runs(conn, [
        Run("finance__orders", "r40", "success", NOW - 40 * DAY, _stages(1000, 0.9, 0)),
        Run("finance__orders", "r10", "success", NOW - 10 * DAY, _stages(50, 0.8, 2)),
        Run("finance__orders", "r2", "success", NOW - 2 * DAY, _stages(100, 1.0, 0)),
        # the load failed after pushing: its XCom must not count as loaded rows
        Run("finance__orders", "r1", "failed", NOW - DAY, _stages(999, 0.5, 5, load_state="failed")),
        Run("finance__orders", "now", "running", NOW - dt.timedelta(minutes=1), (
            Task("quality", state="running"), Task("load", state="queued"), Task("extract", state="deferred"))),
        Run("retail__sales", "r3", "success", NOW - 3 * DAY, (
            Task("load", xcom={"table": "retail.sales", "rows": 7, "skipped": False}),)),
        Run("example_dag", "x", "failed", NOW - DAY, (Task("load", xcom={"table": "x", "rows": 5}),)),
    ])
    conn.close()
    engine = create_engine(url)
    with Session(engine) as s:
        yield s
    engine.dispose()
    drop_database(url)


WINDOW = queries.Window(NOW)
FINANCE = ["finance__invoices", "finance__orders"]


def test_pipeline_health_counts_runs_rates_and_loaded_rows_of_successful_loads(session: Session):
    health = {p["dag_id"]: p for p in queries.pipeline_health(session, FINANCE, WINDOW)}
    orders = health["finance__orders"]
    assert orders["last_state"] == "running"
    assert orders["runs_30d"] == 4  # r40 is outside the window
    assert orders["success_rate_7d"] == 0.5  # r2 success, r1 failed; the running run is not finished
    assert orders["success_rate_30d"] == round(2 / 3, 4)
    assert orders["rows_30d"] == 150  # r10 + r2; r1's load failed
    assert health["finance__invoices"] == {**health["finance__invoices"], "last_state": None, "runs_30d": 0,
                                           "success_rate_7d": None, "rows_30d": 0}


def test_freshness_is_the_last_successful_load_per_table(session: Session):
    (orders,) = queries.table_freshness(session, FINANCE)
    assert orders["table"] == "finance.orders"
    assert orders["last_success_at"] == (NOW - 2 * DAY + dt.timedelta(minutes=6)).isoformat()
    assert orders["loads"] == 3


def test_daily_series_of_rows_quality_and_quarantine(session: Session):
    days = {d["day"]: d for d in queries.daily_series(session, FINANCE, WINDOW)}
    day = lambda delta: (NOW - delta).strftime("%Y-%m-%d")  # noqa: E731
    assert days[day(2 * DAY)] == {"day": day(2 * DAY), "rows": 100, "quality_score": 1.0, "quarantined_rows": 0}
    assert days[day(DAY)] == {"day": day(DAY), "rows": 0, "quality_score": 0.5, "quarantined_rows": 5}
    assert days[day(10 * DAY)]["rows"] == 50 and days[day(10 * DAY)]["quarantined_rows"] == 2
    assert day(40 * DAY) not in days


def test_pool_usage_counts_running_and_queued_not_deferred(session: Session):
    assert queries.pool_usage(session, ["tenant_finance"]) == {"tenant_finance": {"slots": 4, "used": 2}}


def test_overview_groups_by_tenant_and_ignores_other_dags(session: Session):
    rows = {r["tenant"]: r for r in queries.tenants_overview(session, ["finance", "retail", "healthcare"], WINDOW)}
    assert set(rows) == {"finance", "retail", "healthcare"}
    finance = rows["finance"]
    assert (finance["runs_7d"], finance["failed_7d"], finance["success_rate_7d"]) == (3, 1, 0.5)
    assert (finance["rows_30d"], finance["quarantined_rows_30d"]) == (150, 7)
    assert finance["quality_score_30d"] == round((0.8 + 1.0 + 0.5) / 3, 4)
    assert (finance["pool_slots"], finance["pool_slots_used"]) == (4, 2)
    assert rows["retail"]["rows_30d"] == 7 and rows["retail"]["success_rate_30d"] == 1.0
    assert rows["healthcare"]["runs_7d"] == 0 and rows["healthcare"]["pool_slots"] is None
