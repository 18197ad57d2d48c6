"""The consume loop's contract with a reader: each micro-batch is committed with its position before it is
acknowledged, a crash after the commit loses and duplicates nothing, and the run's limits are kept.

The reader here is an in-memory log (offsets), so the loop is tested apart from any broker; the brokers'
readers are tested against the real brokers in tests/sources."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.config.streams import MicroBatchLimits, RunLimits
from tenantflow.loading import state
from tenantflow.loading.commit import LoadConflict
from tenantflow.pipeline_context import PipelineContext
from tenantflow.sources.bad_rows import BadRows
from tenantflow.streams.consume import consume
from tenantflow.streams.reader import MicroBatch, StreamLag


class Log:
    """An append-only log with offsets; the reader starts after the committed offset."""

    def __init__(self, values):
        self.values = list(values)
        self.acked: list[int] = []
        self.events: list[str] = []
        self.fail_ack = False
        self.tenant_id = "retail"

    def start(self, committed):
        self.next = 0 if committed is None else int(committed["offset"])

    def next_batch(self, limits: MicroBatchLimits):
        chunk = self.values[self.next:self.next + limits.max_records]
        if not chunk:
            return None
        start, end = self.next, self.next + len(chunk)
        self.next = end
        bad = BadRows("reject")
        good = [v for v in chunk if isinstance(v, int)]
        for i, v in enumerate(chunk):
            if not isinstance(v, int):
                bad.add(f"log offset {start + i}", None, "not an integer", v)

        def merge(current):
            now = 0 if current is None else int(current["offset"])
            if now != start:
                raise LoadConflict(f"the log is at {now}, this batch read from {start}")
            self.events.append(f"commit {start}-{end}")
            return {"offset": end}

        table = pa.table({"sale_id": pa.array(good, pa.int64()), "amount": pa.array([1.0] * len(good))})
        return MicroBatch([table], merge, bad, messages=len(chunk), token=end, description="log")

    def acknowledge(self, batch):
        if self.fail_ack:
            raise KeyboardInterrupt("killed between the commit and the acknowledgement")
        self.events.append(f"ack {batch.token}")
        self.acked.append(batch.token)

    def lag(self):
        return StreamLag(messages=len(self.values) - self.next)

    def close(self):
        pass


@pytest.fixture
def ctx(repo, tmp_path):
    bundle = load_tenant(repo / "tenant_configs", "retail")
    pipeline = bundle.pipeline("sales")
    target = pipeline.target.model_copy(update={"partition_by": (), "mode": "append", "merge_keys": ()})
    pipeline = pipeline.model_copy(update={"incremental": None, "target": target, "pii": None})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(tmp_path))


def rows(ctx):
    table = IcebergHook(ctx).table()
    return sorted(table.scan().to_arrow()["sale_id"].to_pylist()) if table is not None else []


LIMITS = MicroBatchLimits(max_records=4)
QUICK = RunLimits(idle_seconds=0)


def test_every_batch_is_committed_with_its_position_before_it_is_acknowledged(ctx):
    log = Log([*range(10), "oops"])
    result = consume(ctx, "run-1", log, LIMITS, QUICK)
    assert rows(ctx) == list(range(10))
    assert log.events == ["commit 0-4", "ack 4", "commit 4-8", "ack 8", "commit 8-11", "ack 11"]
    assert (result.micro_batches, result.messages, result.rejected) == (3, 11, 1)
    assert state.read_state(IcebergHook(ctx).table()).stream == {"offset": 11}


def test_a_crash_after_the_commit_neither_loses_nor_duplicates(ctx):
    log = Log(range(12))
    log.fail_ack = True
    with pytest.raises(KeyboardInterrupt):
        consume(ctx, "run-1", log, LIMITS, QUICK)
    assert rows(ctx) == [0, 1, 2, 3]  # committed, not acknowledged
    log.fail_ack = False
    consume(ctx, "run-1", log, LIMITS, QUICK)  # the retry starts from the committed position
    assert rows(ctx) == list(range(12))


def test_a_run_drains_at_most_its_limit_and_the_next_run_goes_on(ctx):
    log = Log(range(10))
    first = consume(ctx, "run-1", log, LIMITS, RunLimits(max_messages=5, idle_seconds=0))
    assert (first.messages, first.stopped_by, first.lag["messages"]) == (5, "max_messages", 5)
    consume(ctx, "run-2", log, LIMITS, QUICK)
    assert rows(ctx) == list(range(10))
