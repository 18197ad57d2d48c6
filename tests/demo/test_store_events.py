"""The demo's store events publisher fills a queue the retail store_events pipeline can consume."""

from __future__ import annotations

import json
import uuid

import pika

from demo import store_events
from tenantflow.config.queues import RabbitMQSource


def test_the_demo_publishes_events_the_pipelines_column_types_accept(repo, monkeypatch):
    from tenantflow.config.loader import load_tenant
    from tenantflow.sources.bad_rows import BadRows
    from tenantflow.sources.queue_decode import Message, decode_messages

    monkeypatch.setattr(store_events, "QUEUE", f"tf_test_demo_{uuid.uuid4().hex[:8]}")
    assert store_events.publish_events(20, seed=1) == 20
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    channel = connection.channel()
    try:
        bodies = []
        for _ in range(20):
            method, properties, body = channel.basic_get(store_events.QUEUE, auto_ack=True)
            bodies.append(Message(properties.message_id, body))
        source = load_tenant(repo / "tenant_configs", "retail").pipeline("store_events").source
        assert isinstance(source, RabbitMQSource) and source.connection_id == "retail__events_rabbitmq"
        bad = BadRows("reject")
        tables = decode_messages(bodies, format="json", column_types=source.column_types, origin="demo", bad_rows=bad)
        assert bad.count == 0 and tables[0].num_rows == 20
        assert json.loads(store_events.connection_json())["conn_type"] == "amqp"
    finally:
        channel.queue_delete(store_events.QUEUE)
        connection.close()
