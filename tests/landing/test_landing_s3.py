"""Landing on S3 (a moto server started by the test): stage, publish with manifest last, read back."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.landing.batch import BatchLocation, read_manifest
from tenantflow.landing.store import LandingHook


@pytest.fixture(scope="module")
def s3(moto_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-finance-landing")
    return moto_endpoint, client


@pytest.fixture
def location(s3, monkeypatch, request):
    endpoint, _ = s3
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    run_id = f"manual__2026-11-29T10:00:00+00:00-{request.node.name}"  # one batch per test
    return BatchLocation("s3://acme-finance-landing/raw", "orders", run_id)


def test_batch_lands_on_s3_and_reads_back(s3, location):
    _, client = s3
    hook = LandingHook(location)
    batches = [pa.table({"id": [1, 2], "v": ["a", "b"]}), pa.table({"id": [3], "v": [None]})]
    staged = hook.stage(iter(batches), cursor="id")
    assert staged.rows == 3 and staged.max_cursor == 3 and len(staged.files) == 2
    assert read_manifest(location) is None, "no manifest before publish: the batch is incomplete"

    manifest = hook.publish(files=staged.files, source="sql:finance__erp:orders", watermark="3")
    assert manifest.rows == 3
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="acme-finance-landing")["Contents"]}
    prefix = location.final.removeprefix("s3://acme-finance-landing/")
    assert f"{prefix}/_manifest.json" in keys
    assert not any("_staging" in k and k.endswith(".parquet") for k in keys), "staged parts are moved by publish"
    assert sorted(hook.read()["id"].to_pylist()) == [1, 2, 3]


def test_publish_is_idempotent(s3, location):
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
    first = hook.publish(files=staged.files, source="s", watermark=None)
    again = hook.publish(files=staged.files, source="s", watermark=None)
    assert first == again and hook.read().num_rows == 1


def test_derived_batch_carries_state_and_becomes_the_load_input(s3, location):
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1, 2, 3]})]), cursor="id")
    hook.publish(files=staged.files, source="s", watermark="3", source_files=["a.csv"])
    assert hook.load_input() is hook, "no derived batch yet: load reads the raw batch"

    approved = hook.publish_derived("approved", iter([pa.table({"id": [1, 3]})]), source="quality:approved")
    assert (approved.rows, approved.watermark, approved.source_files) == (2, "3", ["a.csv"])
    chosen = hook.load_input()
    assert chosen.location.stage == "approved" and sorted(chosen.read()["id"].to_pylist()) == [1, 3]
    assert sorted(hook.read()["id"].to_pylist()) == [1, 2, 3], "the raw batch is kept unchanged"
    again = hook.publish_derived("approved", iter([pa.table({"id": [9]})]), source="x")
    assert again == approved, "publishing a derived batch twice keeps the first (retry-safe)"
