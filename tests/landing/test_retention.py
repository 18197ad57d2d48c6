"""Landing retention: old batches, rejects and stale staging go; recent ones and the current run stay."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pyarrow as pa

from tenantflow.hooks.landing import LandingHook
from tenantflow.landing.batch import BatchLocation
from tenantflow.landing.retention import expire_batches


def _land(landing, run_id) -> BatchLocation:
    location = BatchLocation(str(landing), "sales", run_id)
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    return location


def _age(folder, days):
    old = time.time() - days * 86_400
    for root, _, files in os.walk(folder):
        for name in files:
            os.utime(os.path.join(root, name), (old, old))


def test_batches_older_than_retention_are_deleted(tmp_path):
    old = _land(tmp_path, "scheduled__2026-10-01")
    recent = _land(tmp_path, "scheduled__2026-11-27")
    os.makedirs(old.rejects)
    (tmp_path / "sales" / "_rejects").joinpath(os.path.basename(old.rejects), "_summary.json").write_text("{}")
    stale_staging = BatchLocation(str(tmp_path), "sales", "scheduled__2026-10-02").staging
    os.makedirs(stale_staging)
    open(os.path.join(stale_staging, "part-00000.parquet"), "wb").close()
    for folder in (old.final, old.rejects, stale_staging):
        _age(folder, 40)
    current = BatchLocation(str(tmp_path), "sales", "scheduled__2026-09-01")  # old, but it is this run
    _land(tmp_path, current.run_id)
    _age(current.final, 90)

    deleted = expire_batches(current, retention_days=30, now=datetime.now(UTC))
    assert sorted(deleted) == sorted([old.final, old.rejects, stale_staging])
    assert not os.path.exists(old.final) and not os.path.exists(old.rejects)
    assert os.path.exists(recent.final) and os.path.exists(current.final)
    assert expire_batches(current, retention_days=30) == [], "idempotent"
