"""The load path protects PII: unmasked PII never lands below `restricted`; declared masking lands hashed."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.config.privacy import PiiPolicy
from tenantflow.landing.store import LandingHook
from tenantflow.loading.run_load import load_run
from tenantflow.pii.classification import UnmaskedPiiError
from tenantflow.pipeline_context import PipelineContext

RUN = "manual__2026-11-29T12:00:00+00:00"
EMAILS = [f"shopper{i}@example.com" for i in range(50)]


def context(repo, tmp_path, pii: PiiPolicy | None) -> PipelineContext:
    bundle = load_tenant(repo / "tenant_configs", "retail")  # classification: internal
    target = bundle.pipeline("sales").target.model_copy(update={"partition_by": ()})
    pipeline = bundle.pipeline("sales").model_copy(update={"pii": pii, "incremental": None, "target": target})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(tmp_path))


def land(ctx: PipelineContext) -> None:
    raw = LandingHook(ctx.batch(RUN))
    batch = pa.table({"sale_id": pa.array(range(50), pa.int64()), "buyer": EMAILS})
    staged = raw.stage([batch], cursor=None)
    raw.publish(files=staged.files, source="test", watermark=None)


def test_unmasked_pii_into_an_internal_table_fails_and_writes_nothing(repo, tmp_path):
    ctx = context(repo, tmp_path, None)  # no pii block: detection only
    land(ctx)
    with pytest.raises(UnmaskedPiiError) as caught:
        load_run(ctx, RUN)
    message = str(caught.value)
    assert "buyer" in message and "email" in message and not any(e in message for e in EMAILS)
    assert IcebergHook(ctx).table() is None, "nothing was written"


def test_auto_masking_hashes_the_detected_column_with_the_tenants_key(repo, tmp_path, monkeypatch):
    key = "retail-test-hmac-key-0123456789"
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__PII", f'{{"conn_type": "generic", "password": "{key}"}}')
    ctx = context(repo, tmp_path, PiiPolicy(auto="hash"))
    land(ctx)
    result = load_run(ctx, RUN)
    assert result["rows"] == 50 and result["pii"]["masking"] == {"buyer": "hash"}
    table = IcebergHook(ctx).table()
    expected = sorted(hmac.new(key.encode(), e.encode(), hashlib.sha256).hexdigest() for e in EMAILS)
    assert sorted(table.scan().to_arrow()["buyer"].to_pylist()) == expected
    assert table.properties["tenantflow.column.buyer.masking"] == "hash"
