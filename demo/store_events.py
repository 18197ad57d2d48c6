"""The demo's RabbitMQ queue of retail store events (``retail.store_events`` on 127.0.0.1:5672, guest/guest).

``make demo`` declares the queue and publishes a few hundred events, so the ``retail__store_events`` DAG has
something to drain; ``python -m demo.store_events [count]`` publishes more while the demo runs.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

QUEUE = "retail.store_events"
CONNECTION = {"conn_type": "amqp", "host": "127.0.0.1", "port": 5672, "login": "guest", "password": "guest",
              "schema": "/"}
EVENT_TYPES = ("scan", "door_count", "till_open", "till_close", "price_check")


def connection_json() -> str:
    """The demo's ``retail__events_rabbitmq`` connection (an AIRFLOW_CONN_ value)."""
    return json.dumps(CONNECTION)


def publish_events(count: int = 500, seed: int | None = None) -> int:
    """Declare the queue (durable) and publish ``count`` events; 0 when no broker is reachable."""
    import pika
    from pika.exceptions import AMQPConnectionError

    try:
        connection = pika.BlockingConnection(pika.ConnectionParameters(CONNECTION["host"], CONNECTION["port"]))
    except AMQPConnectionError:
        log.warning("no RabbitMQ on %s:%s: the retail__store_events DAG will have nothing to consume",
                    CONNECTION["host"], CONNECTION["port"])
        return 0
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    channel = connection.channel()
    channel.queue_declare(QUEUE, durable=True)
    for _ in range(count):
        event = {"event_id": uuid.uuid4().hex, "store_id": rng.randint(1, 40), "event_type": rng.choice(EVENT_TYPES),
                 "occurred_at": (now - timedelta(seconds=rng.randint(0, 3600))).isoformat(timespec="seconds")}
        channel.basic_publish("", QUEUE, json.dumps(event).encode(),
                              pika.BasicProperties(message_id=event["event_id"], content_type="application/json",
                                                   delivery_mode=2))
    connection.close()
    return count


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    log.info("published %d store event(s) to %s", publish_events(int(sys.argv[1]) if len(sys.argv) > 1 else 500),
             QUEUE)
