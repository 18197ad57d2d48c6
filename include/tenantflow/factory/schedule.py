"""A pipeline's ``schedule:`` as an Airflow schedule: a cron timetable, Assets, or either of both.

* cron only: ``CronTriggerTimetable``;
* ``after: [t1, t2]``: ``Asset(t1) & Asset(t2)`` — the Assets the upstream pipelines' ``register`` task
  updates (``table_asset``: the same name and URI on both sides);
* ``on: file_arrival``: one Asset per pipeline, watched by ``FileArrivalTrigger`` on the tenant's queue;
* with a ``cron`` as well: ``AssetOrTimeSchedule`` (a run on the cron or on the events, whichever comes).
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from airflow.sdk import Asset

from tenantflow import naming
from tenantflow.config.schedules import table_of
from tenantflow.pipeline_context import PipelineContext

TABLE_ASSET_GROUP = "iceberg"
ARRIVAL_ASSET_GROUP = "file_arrival"


def table_asset(catalog: str, namespace: str, table: str) -> Asset:
    """The Asset of a tenant's table: the outlet of its pipeline's ``register``, the inlet of ``after:``."""
    return Asset(name=naming.table_identifier(namespace, table),
                 uri=naming.table_asset_uri(catalog, namespace, table), group=TABLE_ASSET_GROUP)


def upstream_assets(ctx: PipelineContext) -> list[Asset]:
    schedule = ctx.pipeline.schedule
    refs = schedule.after if schedule is not None else ()
    return [table_asset(ctx.catalog_name, *table_of(ref, ctx.namespace)) for ref in refs]


def arrival_asset(ctx: PipelineContext) -> Asset:
    """The Asset a file-arrival pipeline's watcher updates once per batch of S3 notifications."""
    from airflow.sdk import AssetWatcher

    from tenantflow.triggers.file_arrival import FileArrivalTrigger

    schedule, connection_id = ctx.pipeline.schedule, ctx.pipeline.arrival_connection_id
    assert schedule is not None and schedule.queue is not None and connection_id is not None  # config checked
    trigger = FileArrivalTrigger(tenant_id=ctx.tenant_id, queue_url=schedule.queue, aws_conn_id=connection_id,
                                 poll_seconds=schedule.poll_seconds)
    return Asset(name=naming.arrival_asset_name(ctx.tenant_id, ctx.pipeline.id),
                 uri=naming.arrival_asset_uri(ctx.tenant_id, ctx.pipeline.id), group=ARRIVAL_ASSET_GROUP,
                 watchers=[AssetWatcher(name=f"{ctx.dag_id}__sqs", trigger=trigger)])


def schedule_assets(ctx: PipelineContext) -> list[Asset]:
    """The Assets whose events start the pipeline's runs (empty: a cron or manual pipeline)."""
    schedule = ctx.pipeline.schedule
    if schedule is None:
        return []
    if schedule.on == "file_arrival":
        return [arrival_asset(ctx)]
    return upstream_assets(ctx)


def pipeline_schedule(ctx: PipelineContext) -> Any:
    schedule = ctx.pipeline.schedule
    if schedule is None:
        return None
    from airflow.sdk import CronTriggerTimetable

    cron = CronTriggerTimetable(schedule.cron, timezone=schedule.timezone) if schedule.cron else None
    assets = schedule_assets(ctx)
    if not assets:
        return cron
    condition = reduce(lambda a, b: a & b, assets) if len(assets) > 1 else assets[0]
    if cron is None:
        return condition
    from airflow.sdk import AssetOrTimeSchedule

    return AssetOrTimeSchedule(timetable=cron, assets=condition)
