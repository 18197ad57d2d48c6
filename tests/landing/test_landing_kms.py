"""SSE-KMS on s3 landing (moto server): every object of a batch is encrypted with the tenant's key."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.landing.batch import BatchLocation
from tenantflow.landing.store import LandingHook
from tenantflow.sources.bad_rows import BadRows


@pytest.fixture(scope="module")
def aws(moto_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="acme-health-landing")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    return moto_endpoint, s3, kms.create_key()["KeyMetadata"]["Arn"]


def _objects(s3, prefix=""):
    listing = s3.list_objects_v2(Bucket="acme-health-landing", Prefix=prefix).get("Contents", [])
    return [o["Key"] for o in listing]


def test_every_landed_object_is_encrypted_with_the_tenant_key(aws, monkeypatch):
    endpoint, s3, key_id = aws
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    location = BatchLocation("s3://acme-health-landing/raw", "labs", "manual__kms-1", kms_key_id=key_id)
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1, 2]}), pa.table({"id": [3]})]), cursor=None)
    hook.publish(files=staged.files, source="files:labs", watermark=None)
    hook.publish_derived("approved", iter([pa.table({"id": [1]})]), source="quality")
    bad = BadRows("reject")
    bad.add("s3://src/a.csv", 4, "not a valid int64", "x", "id")
    bad.write(location.rejects, key_id)

    keys = _objects(s3, "raw/labs/")
    assert len([k for k in keys if k.endswith(".parquet")]) == 4  # 2 raw parts, 1 approved, 1 rejects file
    assert sum(k.endswith("_manifest.json") for k in keys) == 2 and any("_rejects" in k for k in keys)
    for key in keys:
        head = s3.head_object(Bucket="acme-health-landing", Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"] == key_id, key
    assert sorted(hook.read()["id"].to_pylist()) == [1, 2, 3], "encrypted parts read back transparently"


def test_without_a_key_objects_are_not_kms_encrypted(aws, monkeypatch):
    endpoint, s3, _ = aws
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    hook = LandingHook(BatchLocation("s3://acme-health-landing/plain", "labs", "manual__plain-1"))
    staged = hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    for key in _objects(s3, "plain/"):
        assert s3.head_object(Bucket="acme-health-landing", Key=key).get("ServerSideEncryption") != "aws:kms"


def test_pipeline_context_passes_the_tenant_key(repo):
    from tenantflow.config.loader import load_tenant
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(repo / "tenant_configs", "healthcare")
    storage = bundle.tenant.storage.model_copy(update={"kms_key_id": "arn:aws:kms:us-east-1:1:key/abc"})
    tenant = bundle.tenant.model_copy(update={"storage": storage})
    ctx = PipelineContext(tenant, bundle.pipelines[0], bundle.platform, "/tmp/home")
    assert ctx.batch("r1").kms_key_id == "arn:aws:kms:us-east-1:1:key/abc"
    assert ctx.batch("r1").derived("approved").kms_key_id == "arn:aws:kms:us-east-1:1:key/abc"
