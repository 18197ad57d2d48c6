"""Amazon SQS queue sources: boto3 through ``AwsBaseHook`` on the tenant's ``aws`` connection, in micro-batches.

Messages are received (up to 10 per call, long polling) with a visibility timeout longer than a micro-batch
and deleted (``delete_message_batch``) only after the Iceberg commit that holds them. The position committed
with a batch holds its receipt handles too: after a crash between the commit and the delete, the next run
deletes them first (before they become visible again), and a message received again anyway (its timeout
expired first, another consumer got it) is dropped when the committed dedup window holds its ``MessageId``
(``queue_dedup``). Memory is bounded by the batch limits: nothing is received past them.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.queue_decode import Message, decode_messages
from tenantflow.sources.queue_dedup import DedupWindow, message_key
from tenantflow.sources.tenant_aws import TenantAwsHook
from tenantflow.streams.reader import MicroBatch, StreamLag

if TYPE_CHECKING:
    from tenantflow.config.queues import SQSSource
    from tenantflow.config.streams import MicroBatchLimits
    from tenantflow.loading.commit import StreamPosition
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


class SQSSourceHook(TenantAwsHook):
    """A tenant's SQS queues (client type ``sqs``) on the connection ``<tenant>__<name>``."""

    hook_name = "tenantflow SQS source"

    service = "sqs"

    def describe(self, queue: str, timeout: float) -> str:
        """The queue (a name, or a queue URL) exists and this identity may read its attributes."""
        from tenantflow.sources.errors import SourceQueryError

        client = self.probe_client(timeout)
        try:
            url = queue if "://" in queue else client.get_queue_url(QueueName=queue)["QueueUrl"]
            attributes = client.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        except client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SourceQueryError(f"SQS queue {queue!r}: {code or exc}") from exc
        return f"SQS queue {queue!r}: ~{attributes['ApproximateNumberOfMessages']} message(s) waiting"


class SQSReader:
    """Micro-batches of an SQS queue (``StreamReader``)."""

    def __init__(self, *, tenant_id: str, source: SQSSource, pipeline_ctx: PipelineContext | None = None) -> None:
        self.tenant_id = tenant_id
        self.source = source
        self.hook = SQSSourceHook(tenant_id=tenant_id, connection_id=source.connection_id)
        self.client: Any = None
        self.url = ""
        self.window = DedupWindow(None)

    @property
    def origin(self) -> str:
        return f"sqs queue {self.source.queue}"

    def start(self, committed: StreamPosition | None) -> None:
        from tenantflow.sources.errors import SourceQueryError

        self.window = DedupWindow(committed)
        self.client = self.hook.get_conn()
        try:
            self.url = self.client.get_queue_url(QueueName=self.source.queue)["QueueUrl"]
        except self.client.exceptions.QueueDoesNotExist as exc:
            raise SourceQueryError(f"SQS connection {self.source.connection_id!r}: queue {self.source.queue!r} does "
                                   "not exist; check source.queue and the connection's region") from exc
        receipts = list((committed or {}).get("receipts", ()))
        if receipts:  # the last committed batch may not have been deleted (a crash after its commit)
            failed = self._delete(receipts)
            log.info("deleted the %d message(s) of the last committed micro-batch of %s again (%d already gone)",
                     len(receipts) - failed, self.origin, failed)

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(10, count)), WaitTimeSeconds=wait,
            VisibilityTimeout=self.source.visibility_timeout_seconds, AttributeNames=["ApproximateReceiveCount"])
        return response.get("Messages", [])

    def next_batch(self, limits: MicroBatchLimits) -> MicroBatch | None:
        taken = self._receive(limits.max_records, 1)
        if not taken:
            return None
        first, size = time.monotonic(), sum(len(m["Body"].encode()) for m in taken)
        while len(taken) < limits.max_records and size < limits.max_bytes:
            if time.monotonic() - first >= limits.max_seconds:
                break
            more = self._receive(limits.max_records - len(taken), 0)
            if not more:
                time.sleep(min(0.2, limits.max_seconds))
                continue
            taken.extend(more)
            size += sum(len(m["Body"].encode()) for m in more)
        return self._batch(taken, size)

    def _batch(self, taken: list[dict[str, Any]], size: int) -> MicroBatch:
        messages, keys, duplicates, seen = [], [], 0, set()
        for m in taken:
            key = message_key(m["MessageId"])
            if key in seen or (int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1
                               and self.window.committed(key)):
                duplicates += 1
                continue
            seen.add(key)
            keys.append(key)
            messages.append(Message(m["MessageId"], m["Body"].encode()))
        bad = BadRows("reject")
        tables = decode_messages(messages, format=self.source.format, column_types=self.source.column_types,
                                 origin=self.origin, bad_rows=bad)
        receipts = [m["ReceiptHandle"] for m in taken]
        identity = {"broker": "sqs", "queue": self.source.queue, "receipts": receipts}
        return MicroBatch(tables, lambda current: DedupWindow.after(current, keys, **identity), bad,
                          messages=len(taken), bytes=size, duplicates=duplicates,
                          token=[m["ReceiptHandle"] for m in taken], description=self.origin)

    def acknowledge(self, batch: MicroBatch) -> None:
        failed = self._delete(batch.token)
        if failed:  # they come back after the visibility timeout and are dropped as committed (within the window)
            log.warning("%d message(s) of %s were not deleted: redelivered later, then dropped as committed",
                        failed, self.origin)

    def _delete(self, handles: list[str]) -> int:
        """Delete by receipt handle, 10 per call; returns how many were not deleted."""
        failed = 0
        for i in range(0, len(handles), 10):
            entries = [{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(handles[i:i + 10])]
            failed += len(self.client.delete_message_batch(QueueUrl=self.url, Entries=entries).get("Failed", []))
        return failed

    def lag(self) -> StreamLag:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return StreamLag(messages=int(attributes["ApproximateNumberOfMessages"]),
                         extra={"in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))})

    def close(self) -> None:
        self.client = None
