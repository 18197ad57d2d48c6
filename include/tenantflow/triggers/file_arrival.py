"""The watcher of a ``schedule: {on: file_arrival}`` pipeline: the tenant's SQS queue of S3 event notifications.

An event trigger (``BaseEventTrigger``) the triggerer runs for the pipeline's file-arrival Asset. It polls the
queue with the amazon provider's ``SqsHook`` on the **tenant's** AWS connection (checked here, in the
triggerer, before anything reads a connection), and yields one event per non-empty receive, whose payload
is ``{"status": "success", "message_batch": [<SQS messages>]}`` — the shape of the provider's
``SqsSensorTrigger``, which the triggerer stores as the extra of one asset event. The DAG run it starts
loads the objects the messages' bodies (S3 event notifications) name (``sources/arrivals.py``).

Why not common-messaging's ``MessageQueueTrigger(scheme="sqs")``: it hands the work to ``SqsSensorTrigger``,
which needs ``aiobotocore``, and no aiobotocore release accepts the botocore this platform pins (1.44;
aiobotocore 3.10.0 wants < 1.43.118). The sync boto3 client runs in a worker thread instead, so the
triggerer's event loop is never blocked. The module imports nothing heavy: DAG parsing builds this trigger.

Messages are deleted once received (as ``SqsSensorTrigger`` does): a triggerer killed between the delete and
the asset event being stored loses that notification — a ``cron`` next to ``on: file_arrival`` lists
``source.path`` on its runs and picks such files up (already loaded ones are skipped by the load state).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from tenantflow.isolation.guards import require_own_connection

MAX_LONG_POLL_SECONDS = 20  # SQS's limit for WaitTimeSeconds


class FileArrivalTrigger(BaseEventTrigger):
    """Wait for S3 event notifications on a tenant's SQS queue, read with the tenant's AWS connection."""

    def __init__(self, *, tenant_id: str, queue_url: str, aws_conn_id: str, poll_seconds: int = 30,
                 max_messages: int = 10) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.queue_url = queue_url
        self.aws_conn_id = aws_conn_id
        self.poll_seconds = poll_seconds
        self.max_messages = max_messages

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "tenant_id": self.tenant_id, "queue_url": self.queue_url, "aws_conn_id": self.aws_conn_id,
            "poll_seconds": self.poll_seconds, "max_messages": self.max_messages,
        })

    def sqs_client(self) -> Any:
        """The queue's client, from the tenant's connection only (never the platform's ``aws_default``)."""
        require_own_connection(self.tenant_id, self.aws_conn_id)
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook

        return SqsHook(aws_conn_id=self.aws_conn_id).get_conn()

    def receive(self, client: Any) -> list[dict[str, Any]]:
        """One long poll; the messages received are deleted from the queue (they travel in the event)."""
        response = client.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.max_messages,
                                          WaitTimeSeconds=min(self.poll_seconds, MAX_LONG_POLL_SECONDS))
        messages = response.get("Messages", [])
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            deleted = client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if deleted.get("Failed"):
                self.log.warning("could not delete %d message(s) from %s (they will be received again): %s",
                                 len(deleted["Failed"]), self.queue_url, deleted["Failed"])
        return [{"MessageId": m["MessageId"], "Body": m["Body"]} for m in messages]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        client = await asyncio.to_thread(self.sqs_client)
        self.log.info("watching %s for S3 event notifications (connection %s)", self.queue_url, self.aws_conn_id)
        while True:
            messages = await asyncio.to_thread(self.receive, client)
            if messages:
                self.log.info("%d notification message(s) from %s", len(messages), self.queue_url)
                yield TriggerEvent({"status": "success", "message_batch": messages})
                continue  # more may be waiting: poll again at once
            await asyncio.sleep(max(0, self.poll_seconds - MAX_LONG_POLL_SECONDS))
