"""Queue benchmark: RabbitMQ -> Iceberg through tenantflow's consume loop, against a plain pika consumer.

    python -m benchmarks.queue_bench [--messages 1000000] [--max-records 10000]

On this machine's RabbitMQ (127.0.0.1:5672, guest/guest), in one run:

* ``messages`` JSON events are published once to a fanout exchange bound to two fresh queues, so both hold
  the same content;
* ``raw_consume_msgs_per_s``: a plain pika consumer drains one queue (prefetch = max_records, manual ack with
  ``multiple=True`` every max_records messages, no decoding, nothing written) — the broker/client limit;
* ``ours_msgs_per_s``: tenantflow's consume loop drains the other into an Iceberg table (local SQL catalog):
  micro-batches of max_records decoded with column_types, landed as Parquet, committed with the stream
  position and dedup window, then acknowledged — the production code path, without Airflow around it;
* ``p95_publish_to_queryable_s``: then ``latency_messages`` (messages/20, at most 20,000) are published at
  2,000/s while the loop consumes (micro-batches close after 1 s); each row's latency is the time from its
  publication to the end of the commit holding it (when a query sees it).

The table is checked to hold every message exactly once. Prints one JSON line (bench-results/queue.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._bench_tenant import bench_context
from benchmarks._report import emit

log = logging.getLogger("queue_bench")
AMQP = {"conn_type": "amqp", "host": "127.0.0.1", "port": 5672, "login": "guest", "password": "guest", "schema": "/"}


def _connection() -> Any:
    import pika

    return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, heartbeat=600))


def _body(i: int) -> bytes:
    return json.dumps({"event_id": i, "store_id": i % 50, "event_type": "scan", "sku": f"SKU-{i % 5000:05d}",
                       "occurred_at": "2026-12-04T10:00:00", "published_at": time.time()}).encode()


def publish(exchange: str, count: int, start: int = 0, rate: float | None = None) -> None:
    import pika

    connection = _connection()
    channel = connection.channel()
    began = time.monotonic()
    for i in range(start, start + count):
        channel.basic_publish(exchange, "", _body(i), pika.BasicProperties(message_id=f"e-{i}", delivery_mode=1))
        if rate is not None and (i - start) % 100 == 99:
            ahead = (i - start + 1) / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
    connection.close()


def raw_drain(queue: str, count: int, prefetch: int) -> float:
    """Seconds a plain pika consumer takes to drain ``count`` messages."""
    connection = _connection()
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    got, started = 0, time.monotonic()
    for method, _properties, _ in channel.consume(queue, auto_ack=False, inactivity_timeout=5):
        if method is None:
            break
        got += 1
        if got % prefetch == 0 or got == count:
            channel.basic_ack(method.delivery_tag, multiple=True)
        if got == count:
            break
    seconds = time.monotonic() - started
    channel.cancel()
    connection.close()
    if got != count:
        raise RuntimeError(f"the raw consumer got {got} of {count} messages")
    return seconds


def pipeline(queue: str, max_records: int, max_seconds: float) -> dict[str, Any]:
    return {"id": "store_events", "target": {"table": "store_events", "mode": "append"}, "source": {
        "kind": "queue", "broker": "rabbitmq", "connection_id": "bench__events_rabbitmq", "queue": queue,
        "column_types": {"event_id": "int64", "store_id": "int32", "occurred_at": "timestamp",
                         "published_at": "float64"},
        "batch": {"max_records": max_records, "max_seconds": max_seconds},
        "per_run": {"max_messages": 100_000_000, "max_seconds": 86_400, "idle_seconds": 1.0}}}


def ours(home: Path, queue: str, max_records: int, max_seconds: float, latencies: list[float] | None = None):
    from tenantflow.streams.consume import consume
    from tenantflow.streams.registry import stream_reader

    ctx = bench_context(home, pipeline(queue, max_records, max_seconds))
    reader = stream_reader(ctx)
    if latencies is not None:  # the commit of a batch is done when the loop acknowledges it
        acknowledge = reader.acknowledge

        def acknowledge_and_time(batch):
            now = time.time()
            for table in batch.tables:
                latencies.extend(now - t for t in table["published_at"].to_pylist())
            acknowledge(batch)

        reader.acknowledge = acknowledge_and_time
    started = time.monotonic()
    result = consume(ctx, f"bench-{uuid.uuid4().hex[:6]}", reader, ctx.pipeline.source.batch,
                     ctx.pipeline.source.per_run)
    # the run ends idle_seconds after the last message: not consuming time
    return result, time.monotonic() - started - ctx.pipeline.source.per_run.idle_seconds, ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--max-records", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    home = Path(tempfile.mkdtemp(prefix="tenantflow-queue-bench-"))
    os.environ["TENANTFLOW_HOME"] = str(home)
    os.environ["AIRFLOW_CONN_BENCH__EVENTS_RABBITMQ"] = json.dumps(AMQP)
    suffix = uuid.uuid4().hex[:8]
    exchange, ours_q, raw_q = f"tf_bench_{suffix}", f"tf_bench_{suffix}_ours", f"tf_bench_{suffix}_raw"
    admin = _connection()
    channel = admin.channel()
    channel.exchange_declare(exchange, "fanout", auto_delete=False)
    for q in (ours_q, raw_q):
        channel.queue_declare(q, arguments={"x-queue-mode": "lazy"})
        channel.queue_bind(q, exchange)
    try:
        started = time.monotonic()
        publish(exchange, args.messages)
        while channel.queue_declare(raw_q, passive=True).method.message_count < args.messages:
            time.sleep(0.2)
        log.warning("published %d messages to 2 queues in %.1fs", args.messages, time.monotonic() - started)
        raw_s = raw_drain(raw_q, args.messages, args.max_records)
        result, ours_s, ctx = ours(home / "throughput", ours_q, args.max_records, 5.0)
        from tenantflow.catalog.hook import IcebergHook

        rows = IcebergHook(ctx).table().scan(selected_fields=("event_id",)).to_arrow()["event_id"]
        if len(rows) != args.messages or len(set(rows.to_pylist())) != args.messages:
            raise RuntimeError(f"table holds {len(rows)} rows for {args.messages} messages")
        latency_messages = max(1000, min(20_000, args.messages // 20))
        latencies: list[float] = []
        publisher = threading.Thread(target=publish, args=(exchange, latency_messages, args.messages, 2000.0))
        publisher.start()
        ours(home / "latency", ours_q, args.max_records, 1.0, latencies)
        publisher.join()
        if len(latencies) != latency_messages:
            raise RuntimeError(f"latency run committed {len(latencies)} of {latency_messages}")
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        ours_rate, raw_rate = args.messages / ours_s, args.messages / raw_s
        emit("queue", {"bench": "queue", "broker": "rabbitmq", "messages": args.messages,
                       "ours_msgs_per_s": round(ours_rate), "raw_consume_msgs_per_s": round(raw_rate),
                       "ratio": round(ours_rate / raw_rate, 2), "p95_publish_to_queryable_s": round(p95, 2),
                       "max_records": args.max_records, "micro_batches": result.micro_batches,
                       "latency_messages": latency_messages})
    finally:
        for q in (ours_q, raw_q):
            channel.queue_delete(q)
        channel.exchange_delete(exchange)
        admin.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
