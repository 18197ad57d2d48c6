"""Stream source kind -> its reader (import paths, imported on first use: brokers' clients stay out of parsing).

A pipeline whose source kind is here is a stream pipeline: its DAG is ``consume`` -> ``register`` (see
``factory/dag_builder.py``), not the batch stages.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantflow.config.models import Source
    from tenantflow.pipeline_context import PipelineContext
    from tenantflow.streams.reader import StreamReader

STREAM_READERS: dict[str, str] = {
    "cdc": "tenantflow.sources.cdc_postgres:PostgresCDCReader",
    "queue:rabbitmq": "tenantflow.sources.queue_rabbitmq:RabbitMQReader",
    "queue:sqs": "tenantflow.sources.queue_sqs:SQSReader",
    "queue:kinesis": "tenantflow.sources.queue_kinesis:KinesisReader",
}
"""``source.kind`` (and, for queues, ``broker``) -> "module:class" of its reader."""


def reader_key(source: Source) -> str:
    broker = getattr(source, "broker", None)
    return f"{source.kind}:{broker}" if broker else source.kind


def is_stream_source(source: Source) -> bool:
    return source.kind in {key.split(":", 1)[0] for key in STREAM_READERS}


def stream_reader(ctx: PipelineContext) -> StreamReader:
    """The reader of the pipeline's stream source, on the tenant's own connection."""
    return source_reader(ctx.tenant_id, ctx.pipeline.source, ctx)


def source_reader(tenant_id: str, source: Source, ctx: PipelineContext | None = None) -> StreamReader:
    """The reader of a stream source (no pipeline context: e.g. the doctor, which only uses its hook)."""
    key = reader_key(source)
    try:
        module, _, name = STREAM_READERS[key].partition(":")
    except KeyError:
        raise ValueError(f"no stream reader for {key!r}; known: {sorted(STREAM_READERS)}") from None
    return getattr(import_module(module), name)(tenant_id=tenant_id, source=source, pipeline_ctx=ctx)
