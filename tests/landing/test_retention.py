"""Landing retention: old batches, rejects and stale staging go; recent ones and the current run stay."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from tenantflow.landing.batch import BatchLocation
from tenantflow.landing.retention import expire_batches
from tenantflow.landing.store import LandingHook

DAYS_30 = timedelta(days=30)


def _land(landing, run_id, pipeline="sales") -> BatchLocation:
    location = BatchLocation(str(landing), pipeline, run_id)
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    return location


def _reject(location: BatchLocation) -> str:
    os.makedirs(location.rejects)
    Path(location.rejects, "_summary.json").write_text("{}")
    return location.rejects


def _age(folder, days):
    old = time.time() - days * 86_400
    for root, _, files in os.walk(folder):
        for name in files:
            os.utime(os.path.join(root, name), (old, old))


def test_batches_older_than_retention_are_deleted(tmp_path):
    old = _land(tmp_path, "scheduled__2026-10-01")
    recent = _land(tmp_path, "scheduled__2026-11-27")
    _reject(old)
    stale_staging = BatchLocation(str(tmp_path), "sales", "scheduled__2026-10-02").staging
    os.makedirs(stale_staging)
    open(os.path.join(stale_staging, "part-00000.parquet"), "wb").close()
    for folder in (old.final, old.rejects, stale_staging):
        _age(folder, 40)
    current = BatchLocation(str(tmp_path), "sales", "scheduled__2026-09-01")  # old, but it is this run
    _land(tmp_path, current.run_id)
    _age(current.final, 90)

    deleted = expire_batches(current, raw_batches=DAYS_30, rejects=DAYS_30, now=datetime.now(UTC))
    assert sorted(deleted) == sorted([old.final, old.rejects, stale_staging])
    assert not os.path.exists(old.final) and not os.path.exists(old.rejects)
    assert os.path.exists(recent.final) and os.path.exists(current.final)
    assert expire_batches(current, raw_batches=DAYS_30, rejects=DAYS_30) == [], "idempotent"


def test_rejects_expire_on_their_own_age(tmp_path):
    batch = _land(tmp_path, "scheduled__2026-11-01")
    _reject(batch)
    _age(batch.final, 10)
    _age(batch.rejects, 10)
    current = _land(tmp_path, "scheduled__2026-11-20")

    deleted = expire_batches(current, raw_batches=DAYS_30, rejects=timedelta(days=7))

    assert deleted == [batch.rejects], "10-day-old rejects expire after 7d; the 10-day-old batch is kept for 30d"
    assert os.path.exists(batch.final) and not os.path.exists(batch.rejects)


def test_a_kind_without_an_age_is_kept(tmp_path):
    batch = _land(tmp_path, "scheduled__2026-01-01")
    _reject(batch)
    _age(batch.final, 400)
    _age(batch.rejects, 400)
    current = _land(tmp_path, "scheduled__2026-11-20")

    assert expire_batches(current, raw_batches=None, rejects=DAYS_30) == [batch.rejects]
    assert os.path.exists(batch.final), "no raw-batch age: raw batches are kept"
    assert expire_batches(current, raw_batches=None, rejects=None) == []
    assert os.path.exists(batch.final)


# --------------------------------------------------------------------------- through the land task


class _TaskInstance:
    def __init__(self, extracted: dict) -> None:
        self.extracted = extracted

    def xcom_pull(self, task_ids: str) -> dict:
        assert task_ids == "extract"
        return self.extracted


def test_land_task_applies_the_platform_retention_of_a_restricted_pipeline(repo, tmp_path):
    """finance is `restricted` and sets no retention: _platform.yaml's 30 days for raw batches and rejects apply."""
    from tenantflow.config import load_tenant
    from tenantflow.operators.land import LandOperator
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(repo / "tenant_configs", "finance")
    assert bundle.tenant.classification == "restricted" and bundle.tenant.storage.retention_days is None, (
        "test premise: finance is restricted and sets no retention_days"
    )
    assert bundle.tenant.retention is None and bundle.pipeline("orders").retention is None
    ctx = PipelineContext(bundle.tenant, bundle.pipeline("orders"), bundle.platform, str(tmp_path))
    assert ctx.retention.raw_batches == DAYS_30 and ctx.retention.rejects == DAYS_30

    expired = _land(ctx.landing, "scheduled__2026-10-01", "orders")
    _reject(expired)
    kept = _land(ctx.landing, "scheduled__2026-11-01", "orders")
    _age(expired.final, 31)
    _age(expired.rejects, 31)
    _age(kept.final, 29)
    run_id = "scheduled__2026-11-30"
    staged = LandingHook(ctx.batch(run_id)).stage(iter([pa.table({"order_id": [1, 2]})]), cursor=None)

    task = LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract")
    result = task.execute({"ti": _TaskInstance({"files": staged.files, "source": "erp"}), "run_id": run_id})

    assert result["expired_batches"] == 2, result
    assert not os.path.exists(expired.final) and not os.path.exists(expired.rejects)
    assert os.path.exists(kept.final), "a 29-day-old batch is inside the 30 days"
    assert os.path.exists(ctx.batch(run_id).manifest), "the current run's batch is landed and kept"
