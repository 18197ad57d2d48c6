"""The consume loop of a stream pipeline: micro-batches landed, committed with their position, then acknowledged.

Per micro-batch, in this order (each step durable before the next):

1. the reader returns at most ``MicroBatchLimits`` of messages, decoded, poison set aside;
2. the rows land as a raw batch of their own (``<run>.<attempt>.<n>``: Parquet parts + manifest), the
   poison messages in that batch's rejects;
3. the load commits the rows **and the stream position** in one Iceberg commit (``load_run`` with
   ``stream_merge``; PII protection and write modes as for any batch);
4. only then the reader acknowledges the messages (ack, delete, confirm the LSN).

A kill between 3 and 4 redelivers the batch; the reader drops what the committed position holds. A kill
before 3 commits nothing and the broker redelivers everything. The micro-batch ids are unique per attempt, so
a retried task never mistakes its new messages for an earlier attempt's committed batch.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tenantflow.metrics import emit
from tenantflow.settings import job_environment

if TYPE_CHECKING:
    from tenantflow.config.streams import MicroBatchLimits, RunLimits
    from tenantflow.pipeline_context import PipelineContext
    from tenantflow.streams.reader import MicroBatch, StreamReader

log = logging.getLogger(__name__)

KILL_BEFORE_ACK = "TENANTFLOW_TEST_KILL_BEFORE_ACK"
"""Crash tests only: the chance (0..1) that the consumer SIGKILLs itself after a micro-batch's Iceberg commit,
before the reader acknowledges it (the window every reader's dedup must make harmless)."""


@dataclass
class ConsumeResult:
    micro_batches: int = 0
    messages: int = 0
    rows: int = 0
    rejected: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    stopped_by: str = "drained"  # drained | max_messages | max_seconds
    lag: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        rate = self.messages / self.seconds if self.seconds else 0.0
        return {"micro_batches": self.micro_batches, "messages": self.messages, "rows": self.rows,
                "rejected": self.rejected, "duplicates": self.duplicates, "seconds": round(self.seconds, 3),
                "messages_per_second": round(rate, 1), "stopped_by": self.stopped_by, "lag": self.lag}


def consume(ctx: PipelineContext, run_id: str, reader: StreamReader, batch_limits: MicroBatchLimits,
            run_limits: RunLimits, *, clock=time.monotonic) -> ConsumeResult:
    """Drain the stream into the pipeline's table within ``run_limits``; the next run continues."""
    from tenantflow.catalog.hook import IcebergHook

    iceberg = IcebergHook(ctx)
    current = iceberg.load_state()
    reader.start(current.stream if current is not None else None)
    attempt = uuid.uuid4().hex[:8]
    kill_chance = float(job_environment(KILL_BEFORE_ACK) or 0)  # read once per run, not per batch
    result, started, idle_since = ConsumeResult(), clock(), None
    try:
        while True:
            if result.messages >= run_limits.max_messages:
                result.stopped_by = "max_messages"
                break
            if clock() - started >= run_limits.max_seconds:
                result.stopped_by = "max_seconds"
                break
            remaining = run_limits.max_messages - result.messages  # never past the run's limit
            limits = batch_limits if remaining >= batch_limits.max_records else batch_limits.model_copy(
                update={"max_records": remaining})
            batch = reader.next_batch(limits)
            if batch is None or not batch.messages:
                idle_since = idle_since if idle_since is not None else clock()
                if clock() - idle_since >= run_limits.idle_seconds:
                    break
                continue
            idle_since = None
            _commit(ctx, iceberg, f"{run_id}.{attempt}.{result.micro_batches:05d}", batch)
            if kill_chance and (kill_chance >= 1 or random.random() < kill_chance):
                os.kill(os.getpid(), signal.SIGKILL)  # crash tests: committed to Iceberg, not acknowledged
            reader.acknowledge(batch)
            result.micro_batches += 1
            result.messages += batch.messages
            result.rows += batch.rows
            result.rejected += batch.bad_rows.count
            result.duplicates += batch.duplicates
            if result.micro_batches % 10 == 1:
                log.info("consumed %d message(s) in %d micro-batch(es), %d rows, %d rejected, %d redelivered dropped",
                         result.messages, result.micro_batches, result.rows, result.rejected, result.duplicates)
        lag = reader.lag()
    finally:
        reader.close()
    result.seconds = clock() - started
    result.lag = {"messages": lag.messages, "seconds": lag.seconds, **dict(lag.extra)}
    emit.stream_consumed(ctx, messages=result.messages, seconds=result.seconds, lag_messages=lag.messages,
                         lag_seconds=lag.seconds)
    log.info("consumed %d message(s) in %d micro-batch(es) in %.1fs (%s): %d rows, %d rejected, %d redelivered "
             "dropped; lag %s", result.messages, result.micro_batches, result.seconds, result.stopped_by,
             result.rows, result.rejected, result.duplicates, result.lag)
    return result


def _commit(ctx: PipelineContext, iceberg: Any, batch_run_id: str, batch: MicroBatch) -> None:
    from tenantflow.landing.store import LandingHook
    from tenantflow.loading.arrow_types import iceberg_compatible
    from tenantflow.loading.run_load import load_run

    location = ctx.batch(batch_run_id)
    landing = LandingHook(location)
    staged = landing.stage(map(iceberg_compatible, batch.tables), cursor=None)
    rejects = batch.bad_rows.write(location.rejects, location.kms_key_id) if batch.bad_rows.count else None
    landing.publish(files=staged.files, source=batch.description, watermark=None,
                    rejected_rows=batch.bad_rows.count)
    load_run(ctx, batch_run_id, iceberg, stream_merge=batch.stream_merge, replace_table=batch.replaces_table)
    if batch.bad_rows.count:
        log.warning("%d poison message(s) of micro-batch %s rejected to %s: %s", batch.bad_rows.count,
                    batch_run_id, rejects, batch.bad_rows.reasons())
