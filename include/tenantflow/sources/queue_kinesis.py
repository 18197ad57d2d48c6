"""Kinesis stream sources: boto3 through ``AwsBaseHook`` on the tenant's ``aws`` connection, in micro-batches.

Kinesis keeps records; the consumer keeps its place. The stream position committed with each micro-batch is
the last sequence number read per shard (``{"broker": "kinesis", "stream": …, "shards": {shard: sequence}}``),
and a run reads each shard ``AFTER_SEQUENCE_NUMBER`` of the committed one: the position advances only with
the Iceberg commit, so a crash anywhere loses and duplicates nothing. A batch is committed only on top of the
position it was read from; if another consumer moved a shard meanwhile, the commit is refused
(``LoadConflict``) and the retried task starts from the new position. Resharding (closed parent shards read
before their children) is not handled: shards are read as ``list_shards`` returns them.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.queue_decode import Message, decode_messages
from tenantflow.sources.tenant_aws import TenantAwsHook
from tenantflow.streams.reader import MicroBatch, StreamLag

if TYPE_CHECKING:
    from tenantflow.config.queues import KinesisSource
    from tenantflow.config.streams import MicroBatchLimits
    from tenantflow.loading.commit import StreamPosition
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


class KinesisSourceHook(TenantAwsHook):
    """A tenant's Kinesis data streams (client type ``kinesis``) on the connection ``<tenant>__<name>``."""

    hook_name = "tenantflow Kinesis source"

    service = "kinesis"

    def describe(self, stream: str, timeout: float) -> str:
        """The stream exists and this identity may describe it (its status and open shards)."""
        from tenantflow.sources.errors import SourceQueryError

        client = self.probe_client(timeout)
        try:
            summary = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
        except client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SourceQueryError(f"Kinesis stream {stream!r}: {code or exc}") from exc
        return (f"Kinesis stream {stream!r}: {summary['StreamStatus']}, {summary['OpenShardCount']} open shard(s), "
                f"retention {summary['RetentionPeriodHours']} h")


class KinesisReader:
    """Micro-batches of a Kinesis stream's shards (``StreamReader``)."""

    def __init__(self, *, tenant_id: str, source: KinesisSource, pipeline_ctx: PipelineContext | None = None) -> None:
        self.tenant_id = tenant_id
        self.source = source
        self.hook = KinesisSourceHook(tenant_id=tenant_id, connection_id=source.connection_id)
        self.client: Any = None
        self.iterators: dict[str, str | None] = {}
        self.read: dict[str, str] = {}  # shard -> last sequence number read (committed once the batch is)
        self.behind_ms: dict[str, int] = {}

    @property
    def origin(self) -> str:
        return f"kinesis stream {self.source.stream}"

    def start(self, committed: StreamPosition | None) -> None:
        from tenantflow.sources.errors import SourceQueryError

        self.client = self.hook.get_conn()
        self.read = dict((committed or {}).get("shards", {}))
        try:
            shards = self.client.list_shards(StreamName=self.source.stream)["Shards"]
        except self.client.exceptions.ResourceNotFoundException as exc:
            raise SourceQueryError(f"Kinesis connection {self.source.connection_id!r}: stream {self.source.stream!r} "
                                   "does not exist; check source.stream and the connection's region") from exc
        for shard in shards:
            shard_id = shard["ShardId"]
            args: dict[str, Any] = {"StreamName": self.source.stream, "ShardId": shard_id}
            if shard_id in self.read:
                args |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": self.read[shard_id]}
            else:
                args["ShardIteratorType"] = "TRIM_HORIZON" if self.source.start_at == "trim_horizon" else "LATEST"
            self.iterators[shard_id] = self.client.get_shard_iterator(**args)["ShardIterator"]

    def _pass(self, want: int) -> list[tuple[str, dict[str, Any]]]:
        """One get_records per open shard: (shard, record) pairs, at most ``want``."""
        out: list[tuple[str, dict[str, Any]]] = []
        for shard_id, iterator in self.iterators.items():
            if iterator is None or len(out) >= want:
                continue
            response = self.client.get_records(ShardIterator=iterator, Limit=min(10_000, want - len(out)))
            self.iterators[shard_id] = response.get("NextShardIterator")
            self.behind_ms[shard_id] = int(response.get("MillisBehindLatest", 0))
            out.extend((shard_id, r) for r in response["Records"])
        return out

    def next_batch(self, limits: MicroBatchLimits) -> MicroBatch | None:
        taken = self._pass(limits.max_records)
        if not taken:
            return None
        first, size = time.monotonic(), sum(len(r["Data"]) for _, r in taken)
        while len(taken) < limits.max_records and size < limits.max_bytes:
            if time.monotonic() - first >= limits.max_seconds:
                break
            more = self._pass(limits.max_records - len(taken))
            if not more:
                time.sleep(min(0.2, limits.max_seconds))
                continue
            taken.extend(more)
            size += sum(len(r["Data"]) for _, r in more)
        return self._batch(taken, size)

    def _batch(self, taken: list[tuple[str, dict[str, Any]]], size: int) -> MicroBatch:
        read_from = {shard: self.read.get(shard) for shard, _ in taken}
        messages, duplicates = [], 0
        for shard, record in taken:
            sequence = record["SequenceNumber"]
            if shard in self.read and int(sequence) <= int(self.read[shard]):
                duplicates += 1  # read already (never with AFTER_SEQUENCE_NUMBER, kept as a guard)
                continue
            self.read[shard] = sequence
            messages.append(Message(f"{shard}/{sequence}", bytes(record["Data"])))
        read_to = {shard: self.read[shard] for shard in read_from}
        bad = BadRows("reject")
        tables = decode_messages(messages, format=self.source.format, column_types=self.source.column_types,
                                 origin=self.origin, bad_rows=bad)

        def merge(current: StreamPosition | None) -> StreamPosition:
            from tenantflow.loading.commit import LoadConflict

            committed = dict((current or {}).get("shards", {}))
            moved = {s: committed.get(s) for s, seq in read_from.items() if committed.get(s) != seq}
            if moved:
                raise LoadConflict(f"{self.origin}: shard position(s) {moved} were committed by another consumer "
                                   f"since this batch read from {read_from}; nothing was committed, the retried task "
                                   "reads on from the committed position")
            return {"broker": "kinesis", "stream": self.source.stream, "shards": {**committed, **read_to}}

        return MicroBatch(tables, merge, bad, messages=len(taken), bytes=size, duplicates=duplicates,
                          token=read_to, description=self.origin)

    def acknowledge(self, batch: MicroBatch) -> None:
        """Nothing to tell the broker: the shard positions were committed with the batch."""

    def lag(self) -> StreamLag:
        seconds = max(self.behind_ms.values(), default=0) / 1000
        return StreamLag(messages=None, seconds=seconds, extra={"shards": len(self.iterators)})

    def close(self) -> None:
        self.client = None
