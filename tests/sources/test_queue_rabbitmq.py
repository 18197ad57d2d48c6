"""RabbitMQ queue sources against the real broker (127.0.0.1:5672): exactly once into Iceberg through kill -9,
poison messages in rejects, run limits, and memory bounded by the prefetch (not by the queue's depth)."""

from __future__ import annotations

import io
import json
import uuid
from decimal import Decimal

import fastavro
import pika
import pyarrow.parquet as pq
import pytest
from queue_harness import context, drain_with_kills, pipeline_doc, table_rows

from tenantflow.config.streams import MicroBatchLimits, RunLimits
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.errors import SourceQueryError
from tenantflow.sources.queue_rabbitmq import RabbitMQReader
from tenantflow.streams.consume import consume
from tenantflow.streams.registry import stream_reader

AMQP = {"conn_type": "amqp", "host": "127.0.0.1", "port": 5672, "login": "guest", "password": "guest", "schema": "/"}


@pytest.fixture
def queue(monkeypatch):
    """A queue of this test's own, deleted after it; the tenant connection retail__events_rabbitmq points at it."""
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__EVENTS_RABBITMQ", json.dumps(AMQP))
    name = f"tf_test_{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    channel = connection.channel()
    channel.queue_declare(name, durable=True)
    yield name
    channel.queue_delete(name)
    connection.close()


def publish(queue: str, bodies, *, ids=True, content_type="application/json") -> None:
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    channel = connection.channel()
    channel.confirm_delivery()
    for body in bodies:
        props = pika.BasicProperties(message_id=f"m-{uuid.uuid4().hex}" if ids else None,
                                     content_type=content_type, delivery_mode=2)
        channel.basic_publish("", queue, body if isinstance(body, bytes) else json.dumps(body).encode(), props)
    connection.close()


def depth(queue: str) -> int:
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def source(queue: str, **extra) -> dict:
    return {"broker": "rabbitmq", "connection_id": "retail__events_rabbitmq", "queue": queue,
            "column_types": {"event_id": "int64", "store_id": "int32"},
            "batch": {"max_records": 100, "max_seconds": 0.5}, "per_run": {"idle_seconds": 0.5}, **extra}


def events(start: int, stop: int) -> list[dict]:
    return [{"event_id": i, "store_id": i % 7, "kind": "scan", "at": "2026-12-04T10:00:00"} for i in range(start, stop)]


def test_n_published_are_exactly_n_rows_after_consumers_killed_at_random_points(queue, tmp_path):
    n = 2_000
    publish(queue, events(0, n))
    doc = pipeline_doc(source(queue))
    seen = drain_with_kills(tmp_path / "runs", doc, tmp_path / "home", seed=15, kills=6, max_kill_delay=2.5)
    assert table_rows(context(tmp_path / "home", doc)) == list(range(n))
    assert seen["killed_after_commit"] >= 2, seen  # commit done, acknowledgement never sent
    assert seen["duplicates_dropped"] >= 100, seen  # the redelivered committed batches were dropped
    assert depth(queue) == 0


def test_a_kill_between_commit_and_ack_redelivers_a_batch_that_is_dropped(queue, tmp_path):
    from queue_harness import Child

    publish(queue, events(0, 300))
    doc = pipeline_doc(source(queue))
    first = Child(tmp_path / "first", doc, tmp_path / "home", "run-1", kill_at_ack=2)
    first.wait_ready()
    assert first.wait() == -9 and first.marker.read_text() == "100"
    assert table_rows(context(tmp_path / "home", doc)) == list(range(200))  # two batches committed, one acked
    second = Child(tmp_path / "second", doc, tmp_path / "home", "run-2")
    second.wait_ready()
    assert second.wait() == 0, second.stderr()
    assert second.outcome()["duplicates"] == 100
    assert table_rows(context(tmp_path / "home", doc)) == list(range(300))


def test_poison_messages_go_to_rejects_with_their_reason_and_do_not_block(queue, tmp_path):
    good = events(0, 5)
    publish(queue, [good[0], b"{not json", [1, 2], {"store_id": 1}, {"event_id": "x", "store_id": 1}, *good[1:]])
    ctx = context(tmp_path, pipeline_doc(source(queue)))
    result = consume(ctx, "run-1", stream_reader(ctx), MicroBatchLimits(max_records=100, max_seconds=0.5),
                     RunLimits(idle_seconds=0.5))
    assert table_rows(ctx) == list(range(5))
    assert (result.messages, result.rejected) == (9, 4)
    assert depth(queue) == 0, "poison messages are acknowledged with their batch"
    rejects = pq.read_table(next(tmp_path.glob("landing/**/rejects.parquet"))).to_pylist()
    reasons = sorted((r["column"] or "", r["reason"].split(" (")[0].split(":")[0]) for r in rejects)
    assert reasons == [("", "not JSON"), ("", "not a JSON object"), ("event_id", "missing column 'event_id'"),
                       ("event_id", "not a valid int64")]
    assert all(r["file"].startswith(f"rabbitmq queue {queue} message m-") for r in rejects)


def test_a_run_drains_at_most_per_run_and_the_next_run_continues(queue, tmp_path):
    publish(queue, events(0, 500))
    doc = pipeline_doc(source(queue, per_run={"max_messages": 200, "idle_seconds": 0.5}))
    ctx = context(tmp_path, doc)
    first = consume(ctx, "run-1", stream_reader(ctx), ctx.pipeline.source.batch, ctx.pipeline.source.per_run)
    assert (first.messages, first.stopped_by, first.lag["messages"]) == (200, "max_messages", 300)
    assert table_rows(ctx) == list(range(200))
    consume(ctx, "run-2", stream_reader(ctx), ctx.pipeline.source.batch, RunLimits(idle_seconds=0.5))
    assert table_rows(ctx) == list(range(500))


def test_memory_is_bounded_by_the_prefetch_not_by_the_queue_depth(queue, tmp_path):
    publish(queue, events(0, 2_000))
    ctx = context(tmp_path, pipeline_doc(source(queue, batch={"max_records": 50, "max_seconds": 0.5})))
    reader = stream_reader(ctx)
    reader.start(None)
    try:
        batch = reader.next_batch(ctx.pipeline.source.batch)
        reader.connection.process_data_events(time_limit=0.5)  # the broker sends no more while 50 are unacked
        assert batch.messages + len(reader.pending) <= 50
        assert depth(queue) >= 1_950
    finally:
        reader.close()
    assert depth(queue) == 2_000, "closing without a commit hands every message back"


def test_avro_messages_carry_their_writer_schema(queue, tmp_path):
    schema = {"type": "record", "name": "StoreEvent", "fields": [
        {"name": "event_id", "type": "long"}, {"name": "store_id", "type": "int"},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}]}
    bodies = []
    for i in range(3):
        buffer = io.BytesIO()
        fastavro.writer(buffer, schema, [{"event_id": i, "store_id": 1, "amount": Decimal("1.25")}])
        bodies.append(buffer.getvalue())
    publish(queue, [*bodies, b'{"event_id": 9}'], content_type="application/avro")
    ctx = context(tmp_path, pipeline_doc(source(queue, format="avro")))
    result = consume(ctx, "run-1", stream_reader(ctx), ctx.pipeline.source.batch, ctx.pipeline.source.per_run)
    assert (result.rows, result.rejected) == (3, 1)
    from tenantflow.catalog.hook import IcebergHook

    table = IcebergHook(ctx).table().scan().to_arrow()
    assert str(table.schema.field("amount").type) == "decimal128(9, 2)"


def test_a_message_that_says_it_is_avro_is_decoded_as_avro_in_a_json_pipeline(queue, tmp_path):
    """The message's content type (or an Avro container's magic bytes) wins over `format`: one queue can carry
    JSON and Avro publishers; a body that does not match what it claims is poison."""
    schema = {"type": "record", "name": "StoreEvent", "fields": [
        {"name": "event_id", "type": "long"}, {"name": "store_id", "type": "int"}]}

    def avro(event_id: int) -> bytes:
        buffer = io.BytesIO()
        fastavro.writer(buffer, schema, [{"event_id": event_id, "store_id": 3}])
        return buffer.getvalue()

    publish(queue, events(0, 2))  # application/json
    publish(queue, [avro(10)], content_type="avro/binary")
    publish(queue, [avro(11)], content_type=None)  # no content type: the container's magic bytes
    publish(queue, [b'{"event_id": 12, "store_id": 3}'], content_type="application/avro")  # claims Avro: poison
    ctx = context(tmp_path, pipeline_doc(source(queue)))  # format: json (the default)
    result = consume(ctx, "run-1", stream_reader(ctx), ctx.pipeline.source.batch, ctx.pipeline.source.per_run)
    assert (result.rows, result.rejected) == (4, 1)
    assert table_rows(ctx) == [0, 1, 10, 11]


def test_messages_without_ids_are_deduplicated_by_payload_only_when_redelivered(queue, tmp_path):
    publish(queue, [events(0, 1)[0]] * 3, ids=False)  # three identical payloads, never redelivered: three rows
    ctx = context(tmp_path, pipeline_doc(source(queue)))
    consume(ctx, "run-1", stream_reader(ctx), ctx.pipeline.source.batch, ctx.pipeline.source.per_run)
    assert table_rows(ctx) == [0, 0, 0]


def test_a_missing_queue_is_a_clear_error(queue, tmp_path):
    ctx = context(tmp_path, pipeline_doc(source(f"{queue}_missing")))
    reader = stream_reader(ctx)
    with pytest.raises(SourceQueryError, match=f"queue '{queue}_missing' cannot be consumed"):
        reader.start(None)
    reader.close()


def test_another_tenants_connection_is_refused():
    from tenantflow.config.queues import RabbitMQSource

    with pytest.raises(TenantIsolationError, match="finance__events"):
        RabbitMQReader(tenant_id="retail", source=RabbitMQSource(kind="queue", broker="rabbitmq",
                                                                 connection_id="finance__events", queue="q"))
