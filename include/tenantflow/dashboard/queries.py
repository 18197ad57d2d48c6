"""Aggregate queries on Airflow's metadata DB: every number of the dashboard is a GROUP BY in the database.

Sources: ``dag_run`` (health), ``task_instance`` (pool slots in use), and the return values the stage
tasks already push as XComs — ``load`` pushes ``{"table", "rows", "skipped"}``, ``quality`` pushes
``{"score", "quarantined_rows"}``. Only XComs of successful task instances count. Runs and loads are
windowed by the run's ``run_after`` / the task's ``end_date`` (the last 7 and 30 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.pool import Pool
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XCOM_RETURN_KEY, XComModel
from sqlalchemy import Float, Integer, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from tenantflow import naming
from tenantflow.metadata_sql import tenant_of, utc_day, xcom_field

# current stage task ids, and those of DAG versions before 2026-12-03 (docs/architecture.md, "Task ids")
LOAD_TASKS = ("load", "load.load_iceberg")
QUALITY_TASKS = ("quality", "quality.validate")
FINISHED = ("success", "failed")
OCCUPYING = ("running", "queued")  # + deferred for pools that count deferred tasks (as Airflow's Pool does)
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Window:
    now: dt.datetime

    @property
    def since_7d(self) -> dt.datetime:
        return self.now - dt.timedelta(days=7)

    @property
    def since_30d(self) -> dt.datetime:
        return self.now - dt.timedelta(days=WINDOW_DAYS)


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _rate(success: Any, finished: Any) -> float | None:
    return round(success / finished, 4) if finished else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dag_filter(column: Any, dag_ids: Collection[str] | None) -> Any:
    """The given DAGs, or (None: a platform viewer) every tenantflow DAG."""
    if dag_ids is None:
        return column.like("%" + naming.SEPARATOR.replace("_", "\\_") + "%", escape="\\")
    return column.in_(sorted(dag_ids))


def _stage_values(task_ids: tuple[str, ...], dag_ids: Collection[str] | None, since: dt.datetime | None):
    """XComs (return values) of successful task instances of these stages, with the task's end date."""
    ti = TaskInstance
    stmt = (
        select(XComModel.dag_id, XComModel.task_id, XComModel.value, ti.end_date)
        .join(ti, and_(ti.dag_id == XComModel.dag_id, ti.run_id == XComModel.run_id,
                       ti.task_id == XComModel.task_id, ti.map_index == XComModel.map_index))
        .where(XComModel.key == XCOM_RETURN_KEY, XComModel.task_id.in_(task_ids), ti.state == "success",
               _dag_filter(XComModel.dag_id, dag_ids))
    )
    if since is not None:
        stmt = stmt.where(ti.end_date >= since)
    return stmt.subquery()


def _number(value_column: Any, key: str, kind: Any = Float) -> Any:
    return cast(xcom_field(value_column, key), kind)


# ----------------------------------------------------------------------------------------------- a tenant


def pipeline_health(session: Session, dag_ids: Collection[str], window: Window) -> list[dict[str, Any]]:
    """Per DAG: the latest run's state and time, runs and success rate over 7 and 30 days, rows loaded in 30."""
    finished = DagRun.state.in_(FINISHED)
    in_7d = DagRun.run_after >= window.since_7d
    rates = (
        select(
            DagRun.dag_id,
            _count_if(and_(in_7d, finished)).label("finished_7d"),
            _count_if(and_(in_7d, DagRun.state == "success")).label("success_7d"),
            _count_if(finished).label("finished_30d"),
            _count_if(DagRun.state == "success").label("success_30d"),
            func.count().label("runs_30d"),
        )
        .where(DagRun.dag_id.in_(sorted(dag_ids)), DagRun.run_after >= window.since_30d)
        .group_by(DagRun.dag_id)
    )
    ranked = (
        select(DagRun.dag_id, DagRun.state, DagRun.run_after,
               func.row_number().over(partition_by=DagRun.dag_id,
                                      order_by=(DagRun.run_after.desc(), DagRun.id.desc())).label("rank"))
        .where(DagRun.dag_id.in_(sorted(dag_ids)))
        .subquery()
    )
    latest = select(ranked.c.dag_id, ranked.c.state, ranked.c.run_after).where(ranked.c.rank == 1)
    loads = _stage_values(LOAD_TASKS, dag_ids, window.since_30d)
    rows = (select(loads.c.dag_id, func.sum(_number(loads.c.value, "rows", Integer)).label("rows"))
            .group_by(loads.c.dag_id))
    by_dag: dict[str, dict[str, Any]] = {
        d: {"dag_id": d, "pipeline": d.partition(naming.SEPARATOR)[2], "last_state": None, "last_run_at": None,
            "runs_30d": 0, "success_rate_7d": None, "success_rate_30d": None, "rows_30d": 0}
        for d in sorted(dag_ids)
    }
    for r in session.execute(rates):
        by_dag[r.dag_id].update(runs_30d=r.runs_30d, success_rate_7d=_rate(r.success_7d, r.finished_7d),
                                success_rate_30d=_rate(r.success_30d, r.finished_30d))
    for r in session.execute(latest):
        by_dag[r.dag_id].update(last_state=r.state, last_run_at=_iso(r.run_after))
    for r in session.execute(rows):
        by_dag[r.dag_id]["rows_30d"] = int(r.rows or 0)
    return list(by_dag.values())


def table_freshness(session: Session, dag_ids: Collection[str]) -> list[dict[str, Any]]:
    """Per table a pipeline loads: when its last successful load finished, and how many loads ever."""
    loads = _stage_values(LOAD_TASKS, dag_ids, None)
    table = xcom_field(loads.c.value, "table")
    stmt = (select(loads.c.dag_id, table.label("table"), func.max(loads.c.end_date).label("last_success_at"),
                   func.count().label("loads"))
            .group_by(loads.c.dag_id, table).order_by(table))
    return [{"dag_id": r.dag_id, "table": r.table, "last_success_at": _iso(r.last_success_at), "loads": r.loads}
            for r in session.execute(stmt)]


def daily_series(session: Session, dag_ids: Collection[str], window: Window) -> list[dict[str, Any]]:
    """Per UTC day of the last 30: rows loaded, mean quality score, quarantined rows (days with data only)."""
    loads = _stage_values(LOAD_TASKS, dag_ids, window.since_30d)
    checks = _stage_values(QUALITY_TASKS, dag_ids, window.since_30d)
    load_day, check_day = utc_day(loads.c.end_date), utc_day(checks.c.end_date)
    rows = (select(load_day.label("day"), func.sum(_number(loads.c.value, "rows", Integer)).label("rows"))
            .group_by(load_day))
    quality = (select(check_day.label("day"), func.avg(_number(checks.c.value, "score")).label("score"),
                      func.sum(_number(checks.c.value, "quarantined_rows", Integer)).label("quarantined"))
               .group_by(check_day))
    days: dict[str, dict[str, Any]] = {}

    def day(key: str) -> dict[str, Any]:
        return days.setdefault(key, {"day": key, "rows": 0, "quality_score": None, "quarantined_rows": 0})

    for r in session.execute(rows):
        day(r.day)["rows"] = int(r.rows or 0)
    for r in session.execute(quality):
        entry = day(r.day)
        entry["quality_score"] = None if r.score is None else round(float(r.score), 4)
        entry["quarantined_rows"] = int(r.quarantined or 0)
    return [days[k] for k in sorted(days)]


def pool_usage(session: Session, pools: Collection[str] | None) -> dict[str, dict[str, int]]:
    """Slots and slots in use (running + queued, + deferred where the pool counts them) per pool."""
    ti = TaskInstance
    occupying = or_(ti.state.in_(OCCUPYING), and_(ti.state == "deferred", Pool.include_deferred))
    stmt = (
        select(Pool.pool, Pool.slots, func.count(ti.id).label("used"))
        .select_from(Pool)
        .outerjoin(ti, and_(ti.pool == Pool.pool, occupying))  # in the join: only live tasks are read (ti_pool)
        .group_by(Pool.pool, Pool.slots)
    )
    stmt = stmt.where(Pool.pool.in_(sorted(pools))) if pools is not None else \
        stmt.where(Pool.pool.like("tenant\\_%", escape="\\"))
    return {r.pool: {"slots": r.slots, "used": int(r.used or 0)} for r in session.execute(stmt)}


# ------------------------------------------------------------------------------------------ all tenants


def tenants_overview(session: Session, tenant_ids: Collection[str], window: Window) -> list[dict[str, Any]]:
    """Per tenant of ``tenant_ids``: runs, success rates, rows, quality, quarantined rows, last load, quota.

    One GROUP BY tenant per source table over every tenantflow DAG (no per-tenant query)."""
    tenant = tenant_of(DagRun.dag_id)
    finished = DagRun.state.in_(FINISHED)
    in_7d = DagRun.run_after >= window.since_7d
    runs = (
        select(tenant.label("tenant"),
               _count_if(in_7d).label("runs_7d"),
               _count_if(and_(in_7d, DagRun.state == "failed")).label("failed_7d"),
               _count_if(and_(in_7d, finished)).label("finished_7d"),
               _count_if(and_(in_7d, DagRun.state == "success")).label("success_7d"),
               _count_if(finished).label("finished_30d"),
               _count_if(DagRun.state == "success").label("success_30d"))
        .where(DagRun.run_after >= window.since_30d, _dag_filter(DagRun.dag_id, None))
        .group_by(tenant)
    )
    # loads and quality checks in one scan of the XComs (the JSON is the expensive part)
    stages = _stage_values(LOAD_TASKS + QUALITY_TASKS, None, None)
    stage_tenant = tenant_of(stages.c.dag_id)
    is_load, is_check = stages.c.task_id.in_(LOAD_TASKS), stages.c.task_id.in_(QUALITY_TASKS)
    in_30d = stages.c.end_date >= window.since_30d
    stage_stats = (
        select(stage_tenant.label("tenant"),
               func.max(case((is_load, stages.c.end_date))).label("last_load_at"),
               func.sum(case((and_(is_load, in_30d), _number(stages.c.value, "rows", Integer)))).label("rows"),
               func.avg(case((and_(is_check, in_30d), _number(stages.c.value, "score")))).label("score"),
               func.sum(case((and_(is_check, in_30d), _number(stages.c.value, "quarantined_rows", Integer))))
               .label("quarantined"))
        .group_by(stage_tenant)
    )
    out = {t: {"tenant": t, "runs_7d": 0, "failed_7d": 0, "success_rate_7d": None, "success_rate_30d": None,
               "rows_30d": 0, "quality_score_30d": None, "quarantined_rows_30d": 0, "last_load_at": None,
               "pool_slots": None, "pool_slots_used": 0} for t in sorted(tenant_ids)}
    unseen: dict[str, Any] = {}

    def entry(tenant_id: str) -> dict[str, Any]:  # rows of tenants outside tenant_ids are dropped
        return out.get(tenant_id, unseen)

    for r in session.execute(runs):
        entry(r.tenant).update(runs_7d=int(r.runs_7d), failed_7d=int(r.failed_7d),
                               success_rate_7d=_rate(r.success_7d, r.finished_7d),
                               success_rate_30d=_rate(r.success_30d, r.finished_30d))
    for r in session.execute(stage_stats):
        entry(r.tenant).update(last_load_at=_iso(r.last_load_at), rows_30d=int(r.rows or 0),
                               quality_score_30d=None if r.score is None else round(float(r.score), 4),
                               quarantined_rows_30d=int(r.quarantined or 0))
    prefix = naming.pool_name("")
    for pool, usage in pool_usage(session, None).items():
        entry(pool.removeprefix(prefix)).update(pool_slots=usage["slots"], pool_slots_used=usage["used"])
    return list(out.values())
