"""The usage query at scale: 1,000 tenants, 100,000 task runs, grouped by the database in one SELECT."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from conftest import run_cli
from isolation.stack import drop_database, fresh_database

TENANTS, RUNS_PER_TENANT, DAYS = 1000, 100, 10
START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request, tmp_path_factory):
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    url = (f"sqlite:///{tmp_path_factory.mktemp('scale') / 'airflow.db'}" if request.param == "sqlite"
           else fresh_database("usage_scale"))
    run_cli("airflow", "db", "migrate", env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url})
    engine = sa.create_engine(url)
    runs, tries = [], []
    for t in range(TENANTS):
        dag_id = f"tenant{t:04d}__orders"
        for n in range(RUNS_PER_TENANT):
            start = START + timedelta(days=n % DAYS, minutes=n)
            run_id = f"scheduled__{n}"
            runs.append(dict(dag_id=dag_id, run_id=run_id, run_type="scheduled", run_after=start, state="success",
                             clear_number=0, span_status="not_started"))
            # n seconds long, on (t % 4) + 1 slots
            tries.append(dict(id=uuid.uuid4(), task_id="load", dag_id=dag_id, run_id=run_id, map_index=-1,
                              start_date=start, end_date=start + timedelta(seconds=n), try_number=1, max_tries=1,
                              pool="default_pool", pool_slots=t % 4 + 1, span_status="not_started", state="success"))
    with engine.begin() as conn:
        conn.execute(sa.insert(DagRun.__table__), runs)
        conn.execute(sa.insert(TaskInstance.__table__), tries)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_database(url)


def test_a_month_of_a_thousand_tenants_is_one_fast_grouped_query(engine, record_property):
    from sqlalchemy.orm import Session

    from tenantflow.usage.period import Period
    from tenantflow.usage.queries import task_usage

    with Session(engine) as session:
        started = time.perf_counter()
        rows = task_usage(session, Period.month(2026, 11))
        elapsed = time.perf_counter() - started
    record_property("seconds", elapsed)
    print(f"{engine.dialect.name}: {len(rows)} tenant-days from {TENANTS * RUNS_PER_TENANT} runs in {elapsed:.3f} s")
    assert len(rows) == TENANTS * DAYS  # the database returned tenant-day groups, not the 100,000 runs
    per_tenant_seconds = sum(range(RUNS_PER_TENANT))
    assert sum(r.run_seconds for r in rows) == pytest.approx(TENANTS * per_tenant_seconds)
    assert sum(r.slot_seconds for r in rows) == pytest.approx(
        sum((t % 4 + 1) * per_tenant_seconds for t in range(TENANTS)))
    assert elapsed < 5, f"{elapsed:.2f} s for {TENANTS * RUNS_PER_TENANT} runs"


def test_one_tenant_is_filtered_in_the_database(engine):
    from sqlalchemy.orm import Session

    from tenantflow.usage.period import Period
    from tenantflow.usage.queries import task_usage

    with Session(engine) as session:
        rows = task_usage(session, Period.month(2026, 11), ["tenant0007"])
    assert {r.tenant for r in rows} == {"tenant0007"} and len(rows) == DAYS
    assert sum(r.slot_seconds for r in rows) == pytest.approx(4 * sum(range(RUNS_PER_TENANT)))
