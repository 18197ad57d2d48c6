"""Kinesis stream sources against the moto server: exactly once into Iceberg through kill -9 at random points
(the shard positions are committed with the data), poison records in rejects, run limits, a batch refused when
another consumer moved its shard, another tenant's connection refused."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from queue_harness import Child, context, drain_with_kills, pipeline_doc, table_rows

from tenantflow.config.queues import KinesisSource
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.queue_kinesis import KinesisReader
from tenantflow.streams.consume import consume
from tenantflow.streams.registry import stream_reader

COLUMNS = {"event_id": "int64", "store_id": "int32"}


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__EVENTS_AWS", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    return moto_endpoint


def client(endpoint: str, kind: str):
    return boto3.client(kind, endpoint_url=endpoint, region_name="us-east-1")


def events(start: int, stop: int) -> list[dict]:
    return [{"event_id": i, "store_id": i % 7} for i in range(start, stop)]


@pytest.fixture
def stream(aws):
    kinesis = client(aws, "kinesis")
    name = f"tf-test-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=2)
    yield name, kinesis
    kinesis.delete_stream(StreamName=name)


def put(kinesis, name: str, bodies) -> None:
    records = [{"Data": (b if isinstance(b, bytes) else json.dumps(b).encode()), "PartitionKey": str(i)}
               for i, b in enumerate(bodies)]
    for i in range(0, len(records), 500):
        kinesis.put_records(StreamName=name, Records=records[i:i + 500])


def kinesis_source(name: str, **extra) -> dict:
    return {"broker": "kinesis", "connection_id": "retail__events_aws", "stream": name, "column_types": COLUMNS,
            "batch": {"max_records": 100, "max_seconds": 0.3}, "per_run": {"idle_seconds": 0.5}, **extra}


def test_kinesis_n_put_are_exactly_n_rows_after_kills(stream, tmp_path):
    name, kinesis = stream
    put(kinesis, name, events(0, 800))
    doc = pipeline_doc(kinesis_source(name))
    seen = drain_with_kills(tmp_path / "runs", doc, tmp_path / "home", seed=3, kills=4, max_kill_delay=2.0)
    assert table_rows(context(tmp_path / "home", doc)) == list(range(800))
    assert seen["killed_after_commit"] >= 1, seen
    put(kinesis, name, events(800, 900))  # a later run reads on after the committed shard positions
    again = Child(tmp_path / "again", doc, tmp_path / "home", "run-again")
    again.wait_ready()
    assert again.wait() == 0, again.stderr()
    assert table_rows(context(tmp_path / "home", doc)) == list(range(900))


def test_kinesis_poison_limits_and_position(stream, tmp_path):
    name, kinesis = stream
    put(kinesis, name, [*events(0, 50), b"\xff\xfe", [1]])
    doc = pipeline_doc(kinesis_source(name, per_run={"max_messages": 20, "idle_seconds": 0.5}))
    ctx = context(tmp_path, doc)
    first = consume(ctx, "run-1", stream_reader(ctx), ctx.pipeline.source.batch, ctx.pipeline.source.per_run)
    assert (first.messages, first.stopped_by) == (20, "max_messages")
    rest = consume(ctx, "run-2", stream_reader(ctx), ctx.pipeline.source.batch, type(ctx.pipeline.source.per_run)(
        idle_seconds=0.5))
    assert table_rows(ctx) == list(range(50)) and first.rejected + rest.rejected == 2
    from tenantflow.catalog.hook import IcebergHook

    position = IcebergHook(ctx).load_state().stream
    assert position["broker"] == "kinesis" and len(position["shards"]) == 2


def test_kinesis_refuses_a_batch_whose_shard_moved_under_it(stream, tmp_path):
    from tenantflow.loading.commit import LoadConflict

    name, kinesis = stream
    put(kinesis, name, events(0, 10))
    ctx = context(tmp_path, pipeline_doc(kinesis_source(name)))
    reader = stream_reader(ctx)
    reader.start(None)
    batch = reader.next_batch(ctx.pipeline.source.batch)
    moved = {"shards": {shard: "1" for shard in batch.token}}  # another consumer committed meanwhile
    with pytest.raises(LoadConflict, match="committed by another consumer"):
        batch.stream_merge(moved)
    assert batch.stream_merge(None)["shards"] == batch.token


def test_another_tenants_connection_is_refused():
    with pytest.raises(TenantIsolationError, match="finance__aws"):
        KinesisReader(tenant_id="retail", source=KinesisSource(kind="queue", broker="kinesis",
                                                               connection_id="finance__aws", stream="s"))
