"""Stream sources answer the doctor (or it says what to do): queues on the real RabbitMQ, SQS and Kinesis on moto,
the S3 notifications' queue of a file-arrival pipeline, and a CDC source on a wal_level=logical PostgreSQL of the
test's own (the shared one on :5432 runs wal_level=replica: the doctor says so). Nothing is consumed or created."""

from __future__ import annotations

import json
import uuid

import pika
import pytest
from doctor_tree import bundle, closed_port, files_source

from sources.logical_postgres import logical_cluster, payments_database
from tenantflow.config.loader import load_tenant
from tenantflow.doctor.checks import run_checks
from tenantflow.doctor.result import Status

AMQP_PASSWORD = "guest"


def _results(report, purpose: str) -> dict[tuple[str, ...], object]:
    return {r.pipelines: r for r in report.results if r.detail.startswith(f"{purpose} of ")}


def queue_source(broker: str, connection_id: str, **where: str) -> dict:
    return {"source": {"kind": "queue", "broker": broker, "connection_id": connection_id,
                       "column_types": {"event_id": "string"}, **where}}


@pytest.fixture
def rabbit_queue():
    name = f"tf_doctor_{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    channel = connection.channel()
    channel.queue_declare(name)
    for i in range(3):
        channel.basic_publish("", name, json.dumps({"event_id": str(i)}).encode())
    yield name
    channel.queue_delete(name)
    connection.close()


def _depth(name: str) -> int:
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    try:
        return connection.channel().queue_declare(name, passive=True).method.message_count
    finally:
        connection.close()


def test_rabbitmq_queue_is_declared_passively_and_a_missing_one_or_a_dead_broker_says_what_to_fix(
        tmp_path, monkeypatch, rabbit_queue):
    amqp = {"conn_type": "amqp", "host": "127.0.0.1", "port": 5672, "login": "guest", "password": AMQP_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_ACME__BUS", json.dumps(amqp))
    monkeypatch.setenv("AIRFLOW_CONN_ACME__DOWN", json.dumps({**amqp, "port": closed_port()}))
    b = bundle(tmp_path, {"events": queue_source("rabbitmq", "acme__bus", queue=rabbit_queue),
                          "gone": queue_source("rabbitmq", "acme__bus", queue=f"{rabbit_queue}_gone"),
                          "down": queue_source("rabbitmq", "acme__down", queue=rabbit_queue)})
    report = run_checks(b, str(tmp_path / "home"), timeout=3)
    found = _results(report, "queue")
    ok = found[("events",)]
    assert (ok.status, ok.check) == (Status.OK, "source"), ok
    assert f"queue {rabbit_queue!r} on 127.0.0.1:5672 (vhost '/'): 3 message(s) waiting" in ok.detail
    gone = found[("gone",)]
    assert gone.status == Status.FAIL and "404" in gone.detail and "NOT_FOUND" in gone.detail, gone
    assert "create it, or fix source.queue" in gone.hint
    down = found[("down",)]
    assert down.status == Status.FAIL and "does not accept the connection" in down.detail, down
    assert "check host, port, vhost (schema) and login of `acme__down`" in down.hint
    assert _depth(rabbit_queue) == 3, "the doctor consumed nothing"
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):  # and created nothing
        _depth(f"{rabbit_queue}_gone")


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AIRFLOW_CONN_ACME__AWS", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "aws-secret-not-to-print",
        "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    kinesis = boto3.client("kinesis", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"acme-doctor-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"event_id": "1"}))
    kinesis.create_stream(StreamName=name, ShardCount=2)
    yield name, url
    sqs.delete_queue(QueueUrl=url)
    kinesis.delete_stream(StreamName=name)


def test_sqs_kinesis_and_the_file_arrival_queue_are_described_through_the_tenants_connection(tmp_path, aws):
    name, url = aws
    arrivals = {**files_source("s3://acme-doctor-drops/in/*.json", "acme__aws"),
                "schedule": {"on": "file_arrival", "queue": url}}
    arrivals["source"]["format"] = "json"
    missing_url = url.rsplit("/", 1)[0] + "/acme-doctor-nowhere"
    gone_arrivals = {**arrivals, "schedule": {"on": "file_arrival", "queue": missing_url}}
    b = bundle(tmp_path, {"orders_q": queue_source("sqs", "acme__aws", queue=name),
                          "clicks": queue_source("kinesis", "acme__aws", stream=name),
                          "nostream": queue_source("kinesis", "acme__aws", stream=f"{name}-gone"),
                          "drops": arrivals, "lost": gone_arrivals})
    report = run_checks(b, str(tmp_path / "home"), timeout=5)
    queues, arrival = _results(report, "queue"), _results(report, "arrivals")
    assert queues[("orders_q",)].status == Status.OK, queues[("orders_q",)]
    assert f"SQS queue {name!r}: ~1 message(s) waiting" in queues[("orders_q",)].detail
    clicks = queues[("clicks",)]
    assert clicks.status == Status.OK and f"Kinesis stream {name!r}: ACTIVE, 2 open shard(s)" in clicks.detail
    nostream = queues[("nostream",)]
    assert nostream.status == Status.FAIL and "ResourceNotFoundException" in nostream.detail, nostream
    assert "create it, or fix source.stream" in nostream.hint
    drops = arrival[("drops",)]
    assert (drops.status, drops.check) == (Status.OK, "file arrival"), drops
    assert "~1 message(s) waiting" in drops.detail
    lost = arrival[("lost",)]
    assert lost.status == Status.FAIL and "NonExistentQueue" in lost.detail, lost
    assert "create it, or fix schedule.queue" in lost.hint
    assert "aws-secret-not-to-print" not in repr(report)


def test_cdc_source_on_a_replica_server_fails_and_on_a_logical_one_passes(tmp_path, monkeypatch, repo):
    finance = load_tenant(repo / "tenant_configs", "finance")
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__PAYMENTS_PG", json.dumps({
        "conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "postgres"}))
    shared = _results(run_checks(finance, str(tmp_path / "home"), timeout=5), "cdc")[("payments",)]
    assert shared.status == Status.FAIL and "wal_level" in shared.detail, shared
    assert "README: PostgreSQL CDC" in shared.hint
    with logical_cluster() as cluster:
        payments_database(cluster, "payments")  # points the tenant's connection at the cluster
        ready = _results(run_checks(finance, str(tmp_path / "home"), timeout=5), "cdc")[("payments",)]
    assert ready.status == Status.OK, ready
    assert "public.payments has a primary key and is in publication finance_payments" in ready.detail
