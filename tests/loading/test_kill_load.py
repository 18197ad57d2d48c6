"""kill -9 of the load task's process between land and commit, and right after the commit.

The landed batch is the real ``retail__sales`` one (10,000 rows, one source file); the load runs
in its own OS process and is killed with SIGKILL after a delay spread over its running time, until
both a kill before the commit and a kill after it were seen. Then the load runs again (Airflow's
retry): the table must hold every row exactly once, and the source file count as loaded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

pytestmark = pytest.mark.e2e

RUN = "scheduled__2026-11-30T01:15:00+00:00"
FILE = "sources/retail/sales/sales_2026-11-30.csv"
ROWS = 10_000

CHILD = r"""
import sys
from tenantflow.config.loader import load_tenant
from tenantflow.loading.run_load import load_run
from tenantflow.pipeline_context import PipelineContext
import pyiceberg.catalog.sql, pyarrow  # imported before 'ready', so the kill delay measures the load itself

bundle = load_tenant(__import__("pathlib").Path(sys.argv[1]) / "tenant_configs", "retail")
ctx = PipelineContext(bundle.tenant, bundle.pipeline("sales"), bundle.platform, sys.argv[2])
print("ready", flush=True)
load_run(ctx, sys.argv[3])
print("done", flush=True)
"""


def context(repo: Path, home: Path):
    from tenantflow.config.loader import load_tenant
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(repo / "tenant_configs", "retail")
    return PipelineContext(bundle.tenant, bundle.pipeline("sales"), bundle.platform, str(home))


def land(repo: Path, home: Path) -> None:
    """What extract + land publish for one daily file (the land task's own code)."""
    from tenantflow.landing.store import LandingHook

    ids = pa.array(range(1, ROWS + 1), pa.int64())
    batch = pa.table({"sale_id": ids, "store_id": pa.array([i % 7 for i in range(ROWS)], pa.int64()),
                      "sku": [f"SKU-{i % 500:05d}" for i in range(ROWS)],
                      "quantity": pa.array([1 + i % 5 for i in range(ROWS)], pa.int64()),
                      "unit_price": [9.99] * ROWS,
                      "sold_at": pa.array([1_796_000_000_000_000 + i * 1_000_000 for i in range(ROWS)],
                                          pa.timestamp("us")),
                      "channel": ["store"] * ROWS})
    hook = LandingHook(context(repo, home).batch(RUN))
    staged = hook.stage([batch.slice(0, 5000), batch.slice(5000)], cursor=None)
    hook.publish(files=staged.files, source="sales/*.csv", watermark=None, source_files=[str(home / FILE)])


def start_load(repo: Path, home: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(repo), str(home), RUN], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=os.environ.copy())
    assert process.stdout.readline().strip() == "ready"
    return process


def committed(repo: Path, home: Path) -> bool:
    from tenantflow.catalog.hook import IcebergHook

    current = IcebergHook(context(repo, home)).load_state()
    return current is not None and current.has_run(RUN)


def table_ids(repo: Path, home: Path) -> list[int]:
    from tenantflow.catalog.hook import IcebergHook

    return sorted(IcebergHook(context(repo, home)).table().scan().to_arrow()["sale_id"].to_pylist())


def remove_killed_loads_files(repo: Path, home: Path) -> int:
    """The maintenance DAG's orphan step, its safety window passed: what the killed load left goes, nothing else."""
    from datetime import UTC, datetime, timedelta

    from tenantflow.catalog.hook import IcebergHook
    from tenantflow.maintenance import remove_orphan_files

    table = IcebergHook(context(repo, home)).table()
    removed = remove_orphan_files(table, older_than=datetime.now(UTC) + timedelta(seconds=1)).files_deleted
    assert table_ids(repo, home) == list(range(1, ROWS + 1)), "orphan removal took a live file"
    assert remove_orphan_files(table, older_than=datetime.now(UTC) + timedelta(seconds=1)).files_deleted == 0
    return removed


def test_kill_9_before_and_right_after_the_commit_then_retry_loads_every_row_once(repo, tmp_path):
    calibration = tmp_path / "calibration"
    land(repo, calibration)
    started = time.monotonic()
    assert start_load(repo, calibration).wait(timeout=300) == 0
    duration = time.monotonic() - started
    rng, seen, orphans = random.Random(11), {}, {}
    for attempt in range(16):
        home = tmp_path / f"try-{attempt}"
        land(repo, home)
        process = start_load(repo, home)
        time.sleep(rng.uniform(0.05, 1.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if process.returncode == 0:
            continue  # finished before the kill: not a kill at a stage boundary
        case = "after commit" if committed(repo, home) else "before commit"
        assert start_load(repo, home).wait(timeout=300) == 0, f"the retry after a kill {case} failed"
        assert table_ids(repo, home) == list(range(1, ROWS + 1)), f"kill {case}: rows lost or duplicated"
        assert start_load(repo, home).wait(timeout=300) == 0
        assert table_ids(repo, home) == list(range(1, ROWS + 1)), "a second retry added rows"
        from tenantflow.catalog.hook import IcebergHook

        assert IcebergHook(context(repo, home)).loaded_files([str(home / FILE)]) == {str(home / FILE)}
        orphans[case] = orphans.get(case, 0) + remove_killed_loads_files(repo, home)
        seen[case] = seen.get(case, 0) + 1
        if len(seen) == 2 and attempt >= 3:
            break
    print(f"\nkill -9 of the load: {seen} (load takes {duration:.2f}s); files the killed loads left and the "
          f"maintenance orphan step removed: {orphans}")
    assert set(seen) == {"before commit", "after commit"}, f"kill points seen: {seen}"
