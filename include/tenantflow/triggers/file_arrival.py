"""The watcher of a ``schedule: {on: file_arrival}`` pipeline: the tenant's SQS queue of S3 event notifications.

It is a thin event trigger over common-messaging's ``MessageQueueTrigger(scheme="sqs")`` (which hands the
work to the amazon provider's ``SqsSensorTrigger``), for two reasons:

* it checks, in the triggerer and before anything reads a connection, that the connection is the tenant's
  own (a DAG could otherwise name the platform's ``aws_default`` by way of a hand-edited serialized DAG);
* its import is light: ``MessageQueueTrigger``'s module initialises the providers' queue registry and pulls
  in boto3 at import time, which DAG parsing must not do (tests/test_import_graph.py). It is imported here
  only in ``run``, in the triggerer.

Each event's payload is ``{"status": "success", "message_batch": [<SQS messages>]}``; the triggerer stores it
as the extra of one asset event, and the DAG run it starts loads the objects the messages' bodies (S3 event
notifications) name (``sources/arrivals.py``). Messages are deleted from the queue once the event is taken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from tenantflow.isolation.guards import require_own_connection


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

    def message_queue_trigger(self) -> BaseEventTrigger:
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

        return MessageQueueTrigger(
            scheme="sqs", sqs_queue=self.queue_url, aws_conn_id=self.aws_conn_id,
            max_messages=self.max_messages, wait_time_seconds=min(self.poll_seconds, 20),  # SQS long poll <= 20 s
            waiter_delay=self.poll_seconds,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        require_own_connection(self.tenant_id, self.aws_conn_id)  # never the platform's or another tenant's
        async for event in self.message_queue_trigger().run():
            yield event
