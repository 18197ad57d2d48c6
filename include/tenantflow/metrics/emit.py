"""Emit tenantflow's metrics through Airflow's own metrics path, one call per stage.

Airflow's task runner initialises the Task SDK's ``Stats`` from ``[metrics]`` (StatsD, DogStatsD or
OpenTelemetry; nothing when none is on): we only hand it names and tags, and open no socket of our own.
Emitting never fails a task: any error is logged and the task goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tenantflow.metrics import names
from tenantflow.metrics.names import Metric

if TYPE_CHECKING:
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


def _send(metric: Metric, value: float, **labels: str | None) -> None:
    try:
        from airflow.sdk.observability.stats import Stats

        tags = names.labels(metric, **labels)  # type: ignore[arg-type]
        if metric.kind == "counter":
            Stats.incr(metric.name, count=int(value), tags=tags)
        else:
            Stats.gauge(metric.name, float(value), tags=tags)
    except Exception:  # a metrics outage or a bad label must never fail a pipeline run
        log.warning("could not emit metric %s=%r %s", metric.name, value, labels, exc_info=True)


def _who(ctx: PipelineContext) -> dict[str, str]:
    return {"tenant": ctx.tenant_id, "pipeline": ctx.pipeline.id}


def part_bytes(parts: Iterable[Mapping[str, Any]]) -> int | None:
    """Bytes of a batch's Parquet parts (``{"bytes": ...}`` records), None when they were not recorded."""
    sizes = [p.get("bytes") for p in parts]
    return sum(int(s) for s in sizes) if sizes and all(s is not None for s in sizes) else None


def stage_volume(ctx: PipelineContext, stage: str, *, rows: int, bytes: int | None = None,
                 rejected_rows: int = 0) -> None:
    """Rows (and bytes, when the stage knows them) one stage produced; extract adds its rejected rows."""
    _send(names.ROWS, rows, **_who(ctx), stage=stage)
    if bytes is not None:
        _send(names.BYTES, bytes, **_who(ctx), stage=stage)
    if rejected_rows:
        _send(names.REJECTED_ROWS, rejected_rows, **_who(ctx))


def quality_result(ctx: PipelineContext, *, rows: int, score: float, flagged_rows: int,
                   quarantined_rows: int) -> None:
    """The quality stage: rows checked, the batch's score, flagged and quarantined rows."""
    stage_volume(ctx, "quality", rows=rows)
    _send(names.QUALITY_SCORE, score, **_who(ctx))
    _send(names.QUALITY_FLAGGED_ROWS, flagged_rows, **_who(ctx))
    _send(names.QUARANTINED_ROWS, quarantined_rows, **_who(ctx))


def table_loaded(ctx: PipelineContext, *, rows: int, bytes: int | None, at: dt.datetime) -> None:
    """The load stage: rows written, bytes of the batch loaded, and the table's last load time."""
    stage_volume(ctx, "load", rows=rows, bytes=bytes)
    _send(names.LAST_LOAD, at.timestamp(), **_who(ctx), table=ctx.table_identifier)


def table_freshness(ctx: PipelineContext, *, last_load: dt.datetime | None, now: dt.datetime) -> None:
    """The maintenance DAG's periodic view: last load time and lag (nothing for a table never loaded)."""
    if last_load is None:
        return
    _send(names.LAST_LOAD, last_load.timestamp(), **_who(ctx), table=ctx.table_identifier)
    _send(names.FRESHNESS_LAG, max(0.0, (now - last_load).total_seconds()), **_who(ctx), table=ctx.table_identifier)


def stream_consumed(ctx: PipelineContext, *, messages: int, seconds: float, lag_messages: int | None,
                    lag_seconds: float | None) -> None:
    """A stream pipeline's run: messages consumed, the consumer rate, and the lag it left."""
    _send(names.STREAM_MESSAGES, messages, **_who(ctx))
    if seconds > 0:
        _send(names.STREAM_RATE, messages / seconds, **_who(ctx))
    if lag_messages is not None:
        _send(names.STREAM_LAG_MESSAGES, lag_messages, **_who(ctx))
    if lag_seconds is not None:
        _send(names.STREAM_LAG_SECONDS, lag_seconds, **_who(ctx))
