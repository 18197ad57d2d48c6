"""RabbitMQ queue sources: the tenant's AMQP connection (hook) and the micro-batch reader.

Exactly once into Iceberg: messages are consumed with manual acknowledgement and a prefetch of the batch's
``max_records`` (memory is bounded by the batch, never by the queue's depth); after the Iceberg commit that
holds a micro-batch, one ``basic_ack(multiple=True)`` up to its last delivery tag acknowledges it. A crash
before that ack makes the broker redeliver the batch with ``redelivered`` set: a redelivered message whose
id the committed dedup window holds is dropped (``queue_dedup``). The id is the message's ``message_id``
property, or its payload's digest when the publisher sets none (then two identical payloads, one of them
redelivered within the window, count as one: publishers should set ``message_id``).

Connection ``<tenant>__<name>``: conn_type ``amqp``, host, port (5672), login, password, schema = the vhost
(default ``/``); extra ``heartbeat`` (seconds, default 60), ``ssl: true`` for AMQPS.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.isolation.guards import require_own_connection
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.queue_decode import Message, decode_messages
from tenantflow.sources.queue_dedup import DedupWindow, body_id, message_key
from tenantflow.streams.reader import MicroBatch, StreamLag

if TYPE_CHECKING:
    from tenantflow.config.queues import RabbitMQSource
    from tenantflow.config.streams import MicroBatchLimits
    from tenantflow.loading.commit import StreamPosition
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)

FIRST_MESSAGE_WAIT_SECONDS = 1.0  # next_batch returns None when nothing arrives this long (the loop decides idle)


class RabbitMQHook(BaseHook):
    """A tenant's RabbitMQ broker: pika connection parameters from the connection ``<tenant>__<name>``."""

    conn_name_attr = "connection_id"
    default_conn_name = "tenant__rabbitmq"
    conn_type = "amqp"
    hook_name = "tenantflow RabbitMQ source"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(**kwargs)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    def parameters(self) -> Any:
        import ssl

        import pika

        conn = self.get_connection(self.connection_id)
        extra = conn.extra_dejson
        options: dict[str, Any] = {}
        if extra.get("ssl"):
            options["ssl_options"] = pika.SSLOptions(ssl.create_default_context(), conn.host)
        return pika.ConnectionParameters(
            host=conn.host or "localhost", port=conn.port or (5671 if extra.get("ssl") else 5672),
            virtual_host=conn.schema or "/", heartbeat=int(extra.get("heartbeat", 60)),
            credentials=pika.PlainCredentials(conn.login or "guest", conn.password or ""),
            blocked_connection_timeout=300, **options)

    def get_conn(self) -> Any:
        import pika

        from tenantflow.sources.errors import SourceUnavailable

        params = self.parameters()
        logging.getLogger("pika").setLevel(logging.WARNING)  # its INFO is one line per socket state change
        try:
            return pika.BlockingConnection(params)
        except pika.exceptions.AMQPConnectionError as exc:
            raise SourceUnavailable(f"RabbitMQ connection {self.connection_id!r} ({params.host}:{params.port}, "
                                    f"vhost {params.virtual_host!r}) is unavailable: {exc!r}; the task is retried "
                                    "with the tenant's retry policy") from exc


    def describe(self, queue: str, timeout: float) -> str:
        """The queue exists and this login may read it: a passive declare (creates and consumes nothing)."""
        import pika

        from tenantflow.sources.errors import SourceQueryError, SourceUnavailable

        params = self.parameters()
        params.socket_timeout = params.stack_timeout = params.blocked_connection_timeout = max(1.0, timeout)
        params.connection_attempts = 1
        try:
            connection = pika.BlockingConnection(params)
        except pika.exceptions.AMQPError as exc:
            raise SourceUnavailable(f"{params.host}:{params.port} (vhost {params.virtual_host!r}) does not accept "
                                    f"the connection: {exc!r}") from exc
        try:
            declared = connection.channel().queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise SourceQueryError(f"queue {queue!r} on {params.host}:{params.port} (vhost {params.virtual_host!r}) "
                                   f"cannot be read: {exc.reply_code} {exc.reply_text}") from exc
        finally:
            if connection.is_open:
                connection.close()
        return (f"queue {queue!r} on {params.host}:{params.port} (vhost {params.virtual_host!r}): "
                f"{declared.method.message_count} message(s) waiting, {declared.method.consumer_count} consumer(s)")


class RabbitMQReader:
    """Micro-batches of a RabbitMQ queue (``StreamReader``)."""

    def __init__(self, *, tenant_id: str, source: RabbitMQSource, pipeline_ctx: PipelineContext | None = None) -> None:
        self.tenant_id = tenant_id
        self.source = source
        self.hook = RabbitMQHook(tenant_id=tenant_id, connection_id=source.connection_id)
        self.connection: Any = None
        self.channel: Any = None
        self.pending: deque[tuple[int, bool, Any, bytes]] = deque()
        self.window = DedupWindow(None)

    @property
    def origin(self) -> str:
        return f"rabbitmq queue {self.source.queue}"

    def start(self, committed: StreamPosition | None) -> None:
        import pika

        from tenantflow.sources.errors import SourceQueryError

        self.window = DedupWindow(committed)
        self.connection = self.hook.get_conn()
        self.channel = self.connection.channel()
        try:
            self.channel.queue_declare(self.source.queue, passive=True)  # the tenant's queue exists; never created
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise SourceQueryError(f"RabbitMQ connection {self.source.connection_id!r}: queue {self.source.queue!r} "
                                   f"cannot be consumed ({exc.reply_code} {exc.reply_text}); check source.queue "
                                   "and the connection's vhost and permissions") from exc
        # the broker holds back more than one batch of unacknowledged messages: memory bounded by the batch
        self.channel.basic_qos(prefetch_count=min(self.source.batch.max_records, 65_535))
        self.channel.basic_consume(self.source.queue, self._on_message, auto_ack=False)

    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self.pending.append((method.delivery_tag, method.redelivered, properties, body))

    def _wait(self, seconds: float) -> None:
        if not self.pending and seconds > 0:
            self.connection.process_data_events(time_limit=seconds)

    def next_batch(self, limits: MicroBatchLimits) -> MicroBatch | None:
        self._wait(min(FIRST_MESSAGE_WAIT_SECONDS, limits.max_seconds))
        if not self.pending:
            return None
        first = time.monotonic()
        taken: list[tuple[int, bool, Any, bytes]] = []
        size = 0
        while len(taken) < limits.max_records and size < limits.max_bytes:
            if not self.pending:
                left = limits.max_seconds - (time.monotonic() - first)
                if left <= 0:
                    break
                self._wait(min(left, 0.5))
                continue
            delivery = self.pending.popleft()
            taken.append(delivery)
            size += len(delivery[3])
        return self._batch(taken, size)

    def _batch(self, taken: list[tuple[int, bool, Any, bytes]], size: int) -> MicroBatch:
        messages, keys, duplicates = [], [], 0
        for _tag, redelivered, properties, body in taken:
            message_id = properties.message_id or body_id(body)
            key = message_key(message_id)
            if redelivered and self.window.committed(key):
                duplicates += 1
                continue
            keys.append(key)
            messages.append(Message(message_id, body, properties.content_type))
        bad = BadRows("reject")
        tables = decode_messages(messages, format=self.source.format, column_types=self.source.column_types,
                                 origin=self.origin, bad_rows=bad)
        identity = {"broker": "rabbitmq", "queue": self.source.queue}
        if duplicates:
            log.info("%d redelivered message(s) of %s were committed already: dropped", duplicates, self.origin)
        return MicroBatch(tables, lambda current: DedupWindow.after(current, keys, **identity), bad,
                          messages=len(taken), bytes=size, duplicates=duplicates, token=taken[-1][0],
                          description=self.origin)

    def acknowledge(self, batch: MicroBatch) -> None:
        self.channel.basic_ack(delivery_tag=batch.token, multiple=True)

    def lag(self) -> StreamLag:
        """Messages waiting when the run ends: the consuming channel is closed first, so the prefetched
        messages this run did not take are back in the queue and counted (the loop asks once, at the end)."""
        if self.channel.is_open:
            self.channel.close()
        self.pending.clear()
        self.channel = self.connection.channel()
        declared = self.channel.queue_declare(self.source.queue, passive=True)
        return StreamLag(messages=declared.method.message_count, extra={"consumers": declared.method.consumer_count})

    def close(self) -> None:
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.close()  # unacknowledged (prefetched, not batched) messages go back to the queue
            except Exception as exc:  # noqa: BLE001 - closing a broken connection must not hide the real error
                log.warning("closing the RabbitMQ connection of %s failed: %r", self.origin, exc)
        self.connection = self.channel = None
