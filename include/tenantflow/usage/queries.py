"""Task run time and pool slot-seconds per tenant and UTC day, aggregated by the metadata database.

Every try counts: ``task_instance`` holds the latest try of each task, ``task_instance_history`` the
earlier ones (Airflow moves a try there when the task is retried or cleared). A try is charged to the
day it started. The tenant is the part of the dag id before ``__`` (``naming.dag_id``); DAGs without
it are not tenants' and are left out. The expressions that differ between databases (tenant of a dag id,
seconds between two timestamps, UTC day) come from ``tenantflow.metadata_sql``, so the database groups
100,000s of rows and returns one row per tenant and day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal_column, select, union_all

from tenantflow import naming
from tenantflow.metadata_sql import seconds_between, tenant_of, utc_day
from tenantflow.usage.period import Period


@dataclass(frozen=True)
class TaskUsage:
    tenant: str
    day: date
    task_runs: int
    run_seconds: float
    slot_seconds: float


def _tries(table: Any, period: Period, tenant_ids: Iterable[str] | None) -> Any:
    c = table.c
    conditions = [
        c.start_date.is_not(None), c.end_date.is_not(None),
        c.start_date >= period.start, c.start_date < period.end,
        c.dag_id.contains(naming.SEPARATOR, autoescape=True),
    ]
    if tenant_ids is not None:
        conditions.append(tenant_of(c.dag_id).in_(sorted(tenant_ids)))
    return select(c.dag_id, c.start_date, c.end_date, c.pool_slots).where(and_(*conditions))


def task_usage_query(period: Period, tenant_ids: Iterable[str] | None = None) -> Any:
    """One SELECT: (tenant, day, task_runs, run_seconds, slot_seconds) per tenant and day of ``period``."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory

    wanted = None if tenant_ids is None else list(tenant_ids)
    tries = union_all(_tries(TaskInstance.__table__, period, wanted),
                      _tries(TaskInstanceHistory.__table__, period, wanted)).subquery("tries")
    tenant = tenant_of(tries.c.dag_id)
    day = utc_day(tries.c.start_date)
    seconds = seconds_between(tries.c.start_date, tries.c.end_date)
    return (
        select(tenant.label("tenant"), day.label("day"), func.count().label("task_runs"),
               func.sum(seconds).label("run_seconds"),
               func.sum(seconds * tries.c.pool_slots).label("slot_seconds"))
        .group_by(tenant, day)
        .order_by(literal_column("tenant"), literal_column("day"))
    )


def task_usage(session: Any, period: Period, tenant_ids: Iterable[str] | None = None) -> list[TaskUsage]:
    """Task run time and slot-seconds per tenant and day, from the metadata DB ``session``."""
    rows = session.execute(task_usage_query(period, tenant_ids)).all()
    return [
        TaskUsage(tenant=row.tenant, day=date.fromisoformat(str(row.day)), task_runs=int(row.task_runs),
                  run_seconds=float(row.run_seconds or 0), slot_seconds=float(row.slot_seconds or 0))
        for row in rows
    ]


@dataclass(frozen=True)
class DatabricksUsage:
    tenant: str
    day: date
    runs: int
    node_seconds: float


# a run is recorded when it ends, at most a run timeout (48 h) after it started
_RECORDED_WITHIN = timedelta(days=2)


def databricks_usage(session: Any, period: Period, tenant_ids: Iterable[str] | None = None) -> list[DatabricksUsage]:
    """Databricks node-seconds per tenant and day the run started, from the runs' ``tenantflow_usage`` XComs."""
    import json

    from airflow.models.xcom import XComModel

    from tenantflow.processing.databricks_usage import USAGE_XCOM_KEY

    c = XComModel.__table__.c
    conditions = [c.key == USAGE_XCOM_KEY, c.timestamp >= period.start, c.timestamp < period.end + _RECORDED_WITHIN,
                  c.dag_id.contains(naming.SEPARATOR, autoescape=True)]
    wanted = None if tenant_ids is None else set(tenant_ids)
    if wanted is not None:
        conditions.append(tenant_of(c.dag_id).in_(sorted(wanted)))
    totals: dict[tuple[str, date], list[float]] = {}
    for tenant, value in session.execute(select(tenant_of(c.dag_id), c.value).where(and_(*conditions))):
        record = json.loads(value) if isinstance(value, str) else value
        if not isinstance(record, dict) or "start_ms" not in record:
            continue
        started = datetime.fromtimestamp(record["start_ms"] / 1000, tz=UTC)
        if not period.contains(started):
            continue
        entry = totals.setdefault((tenant, started.date()), [0, 0.0])
        entry[0] += 1
        entry[1] += float(record["node_seconds"])
    return [DatabricksUsage(tenant, day, int(runs), seconds)
            for (tenant, day), (runs, seconds) in sorted(totals.items())]
