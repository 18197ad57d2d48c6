"""Task run time and pool slot-seconds per tenant and UTC day, aggregated by the metadata database.

Every try counts: ``task_instance`` holds the latest try of each task, ``task_instance_history`` the
earlier ones (Airflow moves a try there when the task is retried or cleared). A try is charged to the
day it started. The tenant is the part of the dag id before ``__`` (``naming.dag_id``); DAGs without
it are not tenants' and are left out. The three expressions that differ between databases (tenant of
a dag id, seconds between two timestamps, UTC day) are compiled per dialect, so the database groups
100,000s of rows and returns one row per tenant and day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, String, and_, func, literal_column, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenantflow import naming
from tenantflow.usage.period import Period


@dataclass(frozen=True)
class TaskUsage:
    tenant: str
    day: date
    task_runs: int
    run_seconds: float
    slot_seconds: float


class tenant_of(FunctionElement):  # noqa: N801 - SQL function style
    """The tenant id of a dag id: the text before the first ``__``."""

    type = String()
    inherit_cache = True


class seconds_between(FunctionElement):  # noqa: N801
    type = Float()
    inherit_cache = True


class utc_day(FunctionElement):  # noqa: N801
    """'YYYY-MM-DD' of a UTC timestamp."""

    type = String()
    inherit_cache = True


SEP = f"'{naming.SEPARATOR}'"


@compiles(tenant_of)
def _tenant_of_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (dag_id,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"substr({dag_id}, 1, instr({dag_id}, {SEP}) - 1)"


@compiles(tenant_of, "postgresql")
def _tenant_of_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    (dag_id,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"split_part({dag_id}, {SEP}, 1)"


@compiles(tenant_of, "mysql")
def _tenant_of_mysql(element: Any, compiler: Any, **kw: Any) -> str:
    (dag_id,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"substring_index({dag_id}, {SEP}, 1)"


@compiles(seconds_between)
def _seconds_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    start, end = [compiler.process(arg, **kw) for arg in element.clauses]
    # julianday is a double of ~2.46e6 days: its last bits are ~50 us, so round to the millisecond
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    start, end = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "mysql")
def _seconds_mysql(element: Any, compiler: Any, **kw: Any) -> str:
    start, end = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"


@compiles(utc_day)
def _day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (moment,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"date({moment})"  # Airflow stores UTC


@compiles(utc_day, "postgresql")
def _day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    (moment,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day, "mysql")
def _day_mysql(element: Any, compiler: Any, **kw: Any) -> str:
    (moment,) = [compiler.process(arg, **kw) for arg in element.clauses]
    return f"DATE_FORMAT({moment}, '%Y-%m-%d')"  # Airflow stores UTC


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
    for dag_id, value in session.execute(select(c.dag_id, c.value).where(and_(*conditions))):
        record = json.loads(value) if isinstance(value, str) else value
        if not isinstance(record, dict) or "start_ms" not in record:
            continue
        started = datetime.fromtimestamp(record["start_ms"] / 1000, tz=UTC)
        if not period.contains(started):
            continue
        tenant = dag_id.split(naming.SEPARATOR, 1)[0]
        entry = totals.setdefault((tenant, started.date()), [0, 0.0])
        entry[0] += 1
        entry[1] += float(record["node_seconds"])
    return [DatabricksUsage(tenant, day, int(runs), seconds)
            for (tenant, day), (runs, seconds) in sorted(totals.items())]
