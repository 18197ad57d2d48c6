"""The quality tables stay compact as runs accumulate: a bounded number of snapshots and files,
every run's record kept (the latest when a run was recorded again), no file left behind, and a
compaction that loses a race to another run's append loses nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from quality.catalog_fixture import quality_store
from tenantflow.config.models import Profiling, QualityRule
from tenantflow.quality import housekeeping
from tenantflow.quality.runner import run_quality

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
RULES = TypeAdapter(list[QualityRule]).validate_python([{"rule": "not_null", "column": "amount", "severity": "warn"}])


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(housekeeping, "COMPACT_AFTER", 5)
    return quality_store(tmp_path)


def batch(nulls: int) -> pa.Table:
    return pa.table({"id": list(range(10)), "amount": [None] * nulls + [1.0] * (10 - nulls)})


def record(store, run: int, *, pipeline: str = "orders", nulls: int = 0, at: dt.datetime | None = None) -> bool:
    report = run_quality(batch(nulls), RULES, "t", profiling=Profiling())
    at = at or START + dt.timedelta(hours=run)
    recorded = store.record_results(report, pipeline=pipeline, run_id=f"run-{run}", at=at, quarantined_rows=0)
    store.record_profile(report.profile, pipeline=pipeline, run_id=f"run-{run}", at=at)
    return recorded


def files_on_disk(home: Path, table: str) -> dict[str, int]:
    folder = next((home / "warehouse").glob(f"acme*/{table}"))
    found = [p for p in folder.rglob("*") if p.is_file()]
    return {"parquet": sum(p.suffix == ".parquet" for p in found), "avro": sum(p.suffix == ".avro" for p in found),
            "metadata": sum(p.name.endswith(".metadata.json") for p in found)}


def test_tables_stay_compact_and_keep_every_run(store, tmp_path):
    for run in range(23):
        assert record(store, run, pipeline="orders" if run % 3 else "customers", nulls=run % 4)
    for name in ("_quality_results", "_profiles"):
        table = store.catalog.load_table(f"acme.{name}")
        assert len(table.snapshots()) <= housekeeping.COMPACT_AFTER + 1
        assert len(table.inspect.files()) <= housekeeping.COMPACT_AFTER + 1
        on_disk = files_on_disk(tmp_path, name)
        assert on_disk["parquet"] == len(table.inspect.files()), on_disk  # expired files deleted
        assert on_disk["metadata"] <= 1 + int(housekeeping.METADATA_PROPERTIES["write.metadata.previous-versions-max"])
    trend = store.trend()
    assert [r["run_id"] for r in trend] == [f"run-{r}" for r in range(23)]
    assert [r["score"] < 100 for r in trend] == [r % 4 > 0 for r in range(23)]
    history = store.metric_history("orders", "null_rate:amount", exclude_run_id="none")
    assert history == [(r % 4) / 10 for r in range(23) if r % 3]


def test_compaction_sorts_by_pipeline_and_time_in_one_file(store):
    for run in range(6):
        record(store, run, pipeline="b" if run % 2 else "a")
    table = store.catalog.load_table("acme._quality_results")
    assert len(table.snapshots()) == 1 and len(table.inspect.files()) == 1
    assert table.current_snapshot().summary.additional_properties[housekeeping.COMPACTED] == "6"
    rows = table.scan().to_arrow().filter(pa.compute.equal(table.scan().to_arrow()["rule_index"], -1))
    assert rows["pipeline"].to_pylist() == ["a", "a", "a", "b", "b", "b"]


def test_a_run_recorded_again_after_compaction_counts_once_with_its_latest_record(store):
    for run in range(7):
        record(store, run, nulls=0)
    # run-1's snapshot is gone: recording it again appends, and readers take the newer record
    assert record(store, 1, nulls=5, at=START + dt.timedelta(days=2))
    assert not record(store, 1, nulls=5, at=START + dt.timedelta(days=2))  # its retry: still exactly once
    trend = {r["run_id"]: r for r in store.trend("orders")}
    assert len(trend) == 7 and trend["run-1"]["score"] < 100
    history = store.metric_history("orders", "null_rate:amount", exclude_run_id="none")
    assert sorted(history) == [0.0] * 6 + [0.5]


def test_a_compaction_that_loses_a_race_keeps_the_other_runs_rows(store):
    for run in range(3):
        record(store, run)
    stale = store.catalog.load_table("acme._quality_results")
    record(store, 3)  # another run appends after `stale` was read
    assert not housekeeping.compact(stale, "checked_at")
    assert [r["run_id"] for r in store.trend()] == ["run-0", "run-1", "run-2", "run-3"]
    assert housekeeping.compact(store.catalog.load_table("acme._quality_results"), "checked_at")
    assert [r["run_id"] for r in store.trend()] == ["run-0", "run-1", "run-2", "run-3"]


def test_a_failed_compaction_never_fails_the_recording(store, monkeypatch):
    def broken(table, time_column):
        raise OSError("warehouse unavailable")

    monkeypatch.setattr(housekeeping, "compact", broken)
    for run in range(7):
        assert record(store, run)
    assert len(store.trend()) == 7


def test_a_reader_whose_files_a_compaction_deleted_reads_again(store, monkeypatch):
    for run in range(3):
        record(store, run)
    stale = store.catalog.load_table("acme._quality_results")
    housekeeping.compact(store.catalog.load_table("acme._quality_results"), "checked_at")
    with pytest.raises(FileNotFoundError):
        stale.scan().to_arrow()  # the snapshot it planned from lost its files
    loads = iter([stale])
    original = store._table
    monkeypatch.setattr(store, "_table", lambda name, schema=None: next(loads, None) or original(name, schema))
    assert [r["run_id"] for r in store.trend()] == ["run-0", "run-1", "run-2"]
