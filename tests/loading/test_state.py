"""Load state under day-2 operations: snapshot expiry, foreign commits, rollback, legacy tables, growth."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings, Target
from tenantflow.loading import state, state_store
from tenantflow.loading.commit import LoadConflict, PlannedLoad
from tenantflow.loading.iceberg_writer import write_batch

APPEND = Target(table="sales", mode="append")


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    return open_catalog("t", CatalogSettings(type="sql", properties={
        "uri": "sqlite:///{home}/c.db", "warehouse": "file://{home}/w"}), str(tmp_path))


def sales(ids, at="2026-11-01 00:00:00"):
    return pa.table({"sale_id": pa.array(ids, pa.int64()), "sold_at": pa.array([at] * len(ids))})


def load(catalog, ids, run_id, files=(), target=APPEND, **planned):
    planned.setdefault("tracks_files", target.mode != "overwrite")
    return write_batch(catalog, "retail.sales", sales(ids), target,
                       PlannedLoad(run_id=run_id, pipeline_id="sales", source_files=tuple(files), **planned))


def table(catalog):
    return catalog.load_table("retail.sales")


def ids(catalog):
    return sorted(table(catalog).scan().to_arrow()["sale_id"].to_pylist())


def test_expiring_older_snapshots_keeps_every_loaded_file(catalog):
    load(catalog, [1, 2], "day-1", ["sales_1.csv"])
    load(catalog, [3, 4], "day-2", ["sales_2.csv"])
    first = table(catalog).snapshots()[0].snapshot_id
    table(catalog).maintenance.expire_snapshots().by_id(first).commit()
    current = state.read_state(table(catalog))
    assert current.loaded(["sales_1.csv", "sales_2.csv", "sales_3.csv"]) == {"sales_1.csv", "sales_2.csv"}
    assert current.has_run("day-1") and current.has_run("day-2")
    again = load(catalog, [1, 2], "day-3", ["sales_1.csv"])  # a run that read an expired snapshot's file
    assert again.skipped and ids(catalog) == [1, 2, 3, 4]


def test_a_foreign_commit_neither_erases_nor_fakes_the_state(catalog):
    load(catalog, [1], "r1", ["a.csv"])
    load(catalog, [2], "r2", ["b.csv"])
    foreign = table(catalog)
    foreign.overwrite(foreign.scan().to_arrow(), snapshot_properties={"engine": "spark-rewrite"})  # compaction
    assert state.read_state(table(catalog)).loaded(["a.csv", "b.csv"]) == {"a.csv", "b.csv"}
    # then everything below the foreign commit expires: the table property still holds the newest state
    t = table(catalog)
    older = [s.snapshot_id for s in t.snapshots() if s.snapshot_id != t.current_snapshot().snapshot_id]
    t.maintenance.expire_snapshots().by_ids(older).commit()
    current = state.read_state(table(catalog))
    assert current.loaded(["a.csv", "b.csv"]) == {"a.csv", "b.csv"} and current.has_run("r2")
    assert load(catalog, [2], "r3", ["b.csv"]).skipped and ids(catalog) == [1, 2]


def test_a_rollback_makes_the_rolled_back_files_loadable_again(catalog, caplog):
    load(catalog, [1], "r1", ["a.csv"])
    keep = table(catalog).current_snapshot().snapshot_id
    load(catalog, [2, 3], "r2", ["b.csv"])
    table(catalog).manage_snapshots().set_current_snapshot(keep).commit()
    with caplog.at_level(logging.WARNING):
        current = state.read_state(table(catalog), explain=True)
    assert current.loaded(["a.csv", "b.csv"]) == {"a.csv"} and not current.has_run("r2")
    assert "rolled back" in caplog.text and str(keep) in caplog.text
    reload = load(catalog, [2, 3], "r2-again", ["b.csv"])
    assert not reload.skipped and ids(catalog) == [1, 2, 3]


def test_the_watermark_follows_the_current_history(catalog):
    load(catalog, [1], "r1", watermark="2026-11-01 10:00:00")
    keep = table(catalog).current_snapshot().snapshot_id
    load(catalog, [2], "r2", watermark="2026-11-02 10:00:00")
    assert state.last_watermark(table(catalog)) == "2026-11-02 10:00:00"
    table(catalog).manage_snapshots().set_current_snapshot(keep).commit()
    assert state.last_watermark(table(catalog)) == "2026-11-01 10:00:00"


def test_legacy_summaries_are_read_and_carried_forward(catalog):
    """A table written before the versioned state: run id, files and watermark in each snapshot's summary."""
    load(catalog, [0], "bootstrap")  # creates the table
    t = table(catalog)
    t.overwrite(sales([1, 2]), snapshot_properties={
        state.RUN_ID: "old-1", state.FILES: json.dumps(["x.csv"]), state.WATERMARK: "5"})
    table(catalog).append(sales([3]), snapshot_properties={state.RUN_ID: "old-2", state.FILES: json.dumps(["y.csv"])})
    legacy = state.read_state(table(catalog))
    assert legacy.head_uri is not None  # "bootstrap" wrote a v1 head below the legacy snapshots
    assert legacy.loaded(["x.csv", "y.csv", "z.csv"]) == {"x.csv", "y.csv"} and legacy.watermark == "5"
    load(catalog, [4], "new-1", ["z.csv"])
    t = table(catalog)
    older = [s.snapshot_id for s in t.snapshots() if s.snapshot_id != t.current_snapshot().snapshot_id]
    t.maintenance.expire_snapshots().by_ids(older).commit()
    carried = state.read_state(table(catalog))
    assert carried.loaded(["x.csv", "y.csv", "z.csv"]) == {"x.csv", "y.csv", "z.csv"}
    assert carried.has_run("old-1") and carried.has_run("old-2") and carried.has_run("new-1")
    assert carried.watermark == "5" and not carried.legacy_files, "now all in the v1 state"


def test_a_table_with_only_legacy_snapshots(catalog):
    from tenantflow.loading.iceberg_writer import ensure_table

    t = ensure_table(catalog, "retail.sales", sales([1]).schema, APPEND)
    t.append(sales([1]), snapshot_properties={state.RUN_ID: "old-1", state.FILES: json.dumps(["x.csv"]),
                                              state.WATERMARK: "7"})
    legacy = state.read_state(table(catalog))
    assert legacy.head_uri is None and legacy.has_run("old-1") and legacy.loaded(["x.csv"]) == {"x.csv"}
    assert load(catalog, [1], "old-1", ["x.csv"]).skipped
    assert not load(catalog, [2], "new", ["w.csv"]).skipped
    assert state.read_state(table(catalog)).all_files() == {"x.csv", "w.csv"}


def test_state_grows_in_buckets_and_stays_exact(catalog, monkeypatch):
    monkeypatch.setattr(state_store, "MIN_BUCKETS", 2)
    monkeypatch.setattr(state_store, "MAX_BUCKET_ENTRIES", 4)
    for i in range(40):
        load(catalog, [i], f"run-{i}", [f"f{i}.csv", f"g{i}.csv"])
    current = state.read_state(table(catalog))
    assert current.buckets >= 32 and current.buckets & (current.buckets - 1) == 0, "doubles as it grows"
    assert current.run_count == 40 and current.file_count == 80
    assert current.all_files() == {f"{p}{i}.csv" for i in range(40) for p in "fg"}
    assert current.loaded(["f7.csv", "nope.csv"]) == {"f7.csv"} and current.has_run("run-39")
    head = json.loads(open(current.head_uri.removeprefix("file://")).read())
    assert head["format"] == "tenantflow.load-state" and head["version"] == 1
    assert all(len(current.segment_keys(s)) <= 4 for s in head["segments"] if s)
    referenced = state.state_files(table(catalog))
    assert current.head_uri in referenced and len(referenced) > 40


def test_state_files_live_beside_the_table_location(catalog):
    load(catalog, [1], "r1", ["a.csv"])
    t = table(catalog)
    head = state.read_state(t).head_uri
    assert not head.startswith(t.location().rstrip("/") + "/"), "another engine's orphan removal must not see it"
    assert "/_tenantflow_state/" in head
    assert state.carried_properties(t) == {state.STATE: head, state.STATE_VERSION: "1"}
    assert t.properties[state.STATE] == head and t.properties["commit.retry.num-retries"] == "0"


def test_a_state_of_an_unknown_version_is_refused_clearly(catalog):
    load(catalog, [1], "r1", ["a.csv"])
    head = state.read_state(table(catalog)).head_uri
    path = head.removeprefix("file://")
    document = json.loads(open(path).read())
    open(path, "w").write(json.dumps({**document, "version": 99}))
    with pytest.raises(state_store.StateFormatError, match="version 1 .*version 99.*newer tenantflow"):
        state.read_state(table(catalog))


# ---------------------------------------------------------------- commit-time validation


def test_a_batch_whose_files_were_all_loaded_meanwhile_is_skipped(catalog):
    load(catalog, [1, 2], "run-a", ["new.csv"])
    late = load(catalog, [1, 2], "run-b", ["new.csv"])  # planned before run-a committed
    assert late.skipped and ids(catalog) == [1, 2]


def test_a_batch_whose_files_were_partly_loaded_meanwhile_is_refused(catalog):
    load(catalog, [1], "run-a", ["one.csv"])
    before = len(table(catalog).snapshots())
    with pytest.raises(LoadConflict, match=r"1 of the 2 source files .*one\.csv.*Clear this run's extract task"):
        load(catalog, [1, 2], "run-b", ["one.csv", "two.csv"])
    assert len(table(catalog).snapshots()) == before and ids(catalog) == [1]


def test_a_watermark_moved_forward_meanwhile_keeps_only_newer_rows(catalog):
    incremental = {"checks_watermark": True, "cursor": "sale_id", "filters_moved_watermark": True}
    load(catalog, [1, 2], "r0", watermark="2", planned_watermark=None, **incremental)
    load(catalog, [3, 4, 5], "run-a", watermark="5", planned_watermark="2", **incremental)
    late = load(catalog, [3, 4, 5, 6], "run-b", watermark="6", planned_watermark="2", **incremental)
    assert late.rows == 1 and ids(catalog) == [1, 2, 3, 4, 5, 6]
    assert state.last_watermark(table(catalog)) == "6"
    nothing_new = load(catalog, [4, 5], "run-c", watermark="5", planned_watermark="2", **incremental)
    assert nothing_new.rows == 0 and state.last_watermark(table(catalog)) == "6", "the watermark never goes back"


def test_a_watermark_moved_back_meanwhile_is_refused(catalog):
    incremental = {"checks_watermark": True, "cursor": "sale_id"}
    load(catalog, [1, 2], "r0", watermark="2", **incremental)
    with pytest.raises(LoadConflict, match=r"read rows after watermark '5'.*now at '2' \(rolled back\?\)"):
        load(catalog, [6], "r1", watermark="6", planned_watermark="5", **incremental)
    assert ids(catalog) == [1, 2]


def test_overwrite_runs_are_not_refused_for_reading_loaded_files(catalog):
    over = Target(table="sales", mode="overwrite")
    load(catalog, [1, 2], "r1", ["a.csv"], target=over)
    load(catalog, [1, 2, 3], "r2", ["a.csv", "b.csv"], target=over)
    assert ids(catalog) == [1, 2, 3]


def test_orphan_removal_deletes_state_files_of_lost_commits_only(catalog):
    import os
    import time
    from datetime import UTC, datetime, timedelta

    from tenantflow.maintenance import remove_orphan_files

    load(catalog, [1], "r1", ["a.csv"])
    load(catalog, [2], "r2", ["b.csv"])
    t = table(catalog)
    lost = state_store.write_next_state(t, state.read_state(t), pipeline_id="sales", run_id="lost", rows=1,
                                        watermark=None, source_files=["c.csv"])  # its commit never happened
    folder = lost.removeprefix("file://").rpartition("/")[0]
    everything = {os.path.join(folder, name) for name in os.listdir(folder)}
    referenced = {uri.removeprefix("file://") for uri in state.state_files(t)}
    unreferenced = everything - referenced
    assert lost.removeprefix("file://") in unreferenced and len(unreferenced) >= 2, "a head and its new segment"
    past = time.time() - 3600
    for path in everything:
        os.utime(path, (past, past))
    result = remove_orphan_files(table(catalog), older_than=datetime.now(UTC) - timedelta(minutes=30))
    assert {os.path.join(folder, n) for n in os.listdir(folder)} == referenced
    assert result.files_deleted >= len(unreferenced)
    assert state.read_state(table(catalog)).loaded(["a.csv", "b.csv", "c.csv"]) == {"a.csv", "b.csv"}
