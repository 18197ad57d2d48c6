"""What a tenant's enabled pipelines need from outside, derived from config only (no I/O).

Connection ids come from the functions the pipelines themselves use (``sources``' ``connection_id``,
``processing.databricks_spec.connection_id``, ``pii.secrets.secret_connection_id``,
``catalog.connection.catalog_connection_id``), so the doctor checks exactly what a run will look up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tenantflow.catalog.connection import catalog_connection_id
from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import Engine, FilesSource, Source
from tenantflow.config.privacy import PiiPolicy
from tenantflow.pii.pipeline import pipeline_policy
from tenantflow.pii.secrets import secret_connection_id
from tenantflow.pipeline_context import PipelineContext
from tenantflow.processing import databricks_spec

Purpose = Literal["sql", "http", "graphql", "files", "cdc", "queue", "arrivals", "databricks", "pii", "catalog"]


@dataclass(frozen=True)
class Need:
    """One thing to check: a connection for a purpose (and, for files sources, the path read through it)."""

    purpose: Purpose
    connection_id: str | None
    pipelines: tuple[str, ...]
    location: str | None = None  # files sources: the resolved path or s3:// glob; queues: the queue or stream
    source: Source | None = None  # sources: the config its hook is built from (the first pipeline's)


def source_queue(source: Source) -> str:
    """The queue (RabbitMQ, SQS) or stream (Kinesis) a queue source reads."""
    return getattr(source, "queue", None) or source.stream


def needs_pii_key(policy: PiiPolicy) -> bool:
    """Only hashing uses the tenant's key (redact/partial/drop do not)."""
    return policy.auto == "hash" or "hash" in policy.declared_methods().values()


def pipeline_needs(ctx: PipelineContext) -> list[Need]:
    pipeline, found = ctx.pipeline.id, []
    source = ctx.pipeline.source
    location = ctx.source_location(source.path) if isinstance(source, FilesSource) else None
    if source.kind == "queue":  # the broker answers and the queue (stream) exists: read, never consumed
        found.append(Need("queue", source.connection_id, (pipeline,), source_queue(source), source))
    elif source.connection_id is not None or location is not None:
        found.append(Need(source.kind, source.connection_id, (pipeline,), location, source))
    schedule = ctx.pipeline.schedule
    if schedule is not None and schedule.on == "file_arrival":  # the S3 notifications' queue the watcher polls
        found.append(Need("arrivals", ctx.pipeline.arrival_connection_id, (pipeline,), schedule.queue))
    if ctx.engine == Engine.databricks:
        found.append(Need("databricks", databricks_spec.connection_id(ctx.tenant_id), (pipeline,)))
    policy = pipeline_policy(ctx)
    if needs_pii_key(policy):
        found.append(Need("pii", policy.secret_connection or secret_connection_id(ctx.tenant_id), (pipeline,)))
    return found


def tenant_needs(bundle: TenantBundle, home: str) -> tuple[Need, ...]:
    """Every need of the tenant's enabled pipelines, one per (purpose, connection, location), in config order."""
    merged: dict[tuple[str | None, ...], Need] = {}
    for pipeline in bundle.pipelines:
        if not pipeline.enabled:
            continue
        ctx = PipelineContext(bundle.tenant, pipeline, bundle.platform, home)
        for need in pipeline_needs(ctx):
            key = (need.purpose, getattr(need.source, "broker", None), need.connection_id, need.location)
            seen = merged.get(key)
            merged[key] = need if seen is None else Need(
                seen.purpose, seen.connection_id, (*seen.pipelines, *need.pipelines), seen.location, seen.source)
    catalog = bundle.platform.catalogs[bundle.tenant.catalog.name]
    if catalog.connection is not None:
        conn_id = catalog_connection_id(bundle.tenant.id, catalog.connection)
        merged[("catalog", None, conn_id, None)] = Need("catalog", conn_id, ())
    return tuple(merged.values())
