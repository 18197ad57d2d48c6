"""The stream position of a queue or CDC source is committed with the data, in the load state: it survives
commits that do not name it, compaction and snapshot expiry, follows a rollback, and a merge that refuses
(another consumer moved it) commits nothing."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings, Target
from tenantflow.loading import state
from tenantflow.loading.commit import LoadConflict, PlannedLoad
from tenantflow.loading.iceberg_writer import write_batch
from tenantflow.maintenance import compact

APPEND = Target(table="events", mode="append")


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    return open_catalog("t", CatalogSettings(type="sql", properties={
        "uri": "sqlite:///{home}/c.db", "warehouse": "file://{home}/w"}), str(tmp_path))


def advance_to(offset: int, expected_from: int | None):
    """A Kinesis-like merge: this batch read from ``expected_from``; a position moved meanwhile is refused."""
    def merge(current):
        now = None if current is None else current["offset"]
        if now != expected_from:
            raise LoadConflict(f"the stream is at {now}, this batch read from {expected_from}")
        return {"offset": offset}
    return merge


def load(catalog, ids, run_id, merge=None):
    data = pa.table({"event_id": pa.array(ids, pa.int64())})
    return write_batch(catalog, "retail.events", data, APPEND,
                       PlannedLoad(run_id=run_id, pipeline_id="events", stream_merge=merge))


def position(catalog):
    return state.read_state(catalog.load_table("retail.events")).stream


def rows(catalog):
    return sorted(catalog.load_table("retail.events").scan().to_arrow()["event_id"].to_pylist())


def test_the_position_is_committed_with_the_data_and_carried_by_other_commits(catalog):
    load(catalog, [1, 2], "mb-1", advance_to(2, None))
    assert position(catalog) == {"offset": 2}
    load(catalog, [3], "backfill")  # a commit that reads no stream keeps the position
    assert position(catalog) == {"offset": 2}
    load(catalog, [4, 5], "mb-2", advance_to(5, 2))
    assert position(catalog) == {"offset": 5} and rows(catalog) == [1, 2, 3, 4, 5]


def test_compaction_and_expiry_keep_the_position(catalog):
    for i in range(6):
        load(catalog, [i], f"mb-{i}", advance_to(i, i - 1 if i else None))
    table = catalog.load_table("retail.events")
    compact(table, target_file_size_bytes=1 << 30, min_input_files=2)
    table = catalog.load_table("retail.events")
    keep = table.current_snapshot().snapshot_id
    expire = table.maintenance.expire_snapshots()
    for snapshot in table.snapshots():
        if snapshot.snapshot_id != keep:
            expire = expire.by_id(snapshot.snapshot_id)
    expire.commit()
    assert len(catalog.load_table("retail.events").snapshots()) == 1
    assert position(catalog) == {"offset": 5}


def test_a_rollback_rolls_the_position_back_with_the_rows(catalog):
    load(catalog, [1], "mb-1", advance_to(1, None))
    first = catalog.load_table("retail.events").current_snapshot().snapshot_id
    load(catalog, [2], "mb-2", advance_to(2, 1))
    catalog.load_table("retail.events").manage_snapshots().set_current_snapshot(first).commit()
    # the consumer reads from where the table's rows end: the rolled-back batch is read again, not lost
    assert position(catalog) == {"offset": 1} and rows(catalog) == [1]


def test_a_position_moved_by_another_consumer_is_refused_and_nothing_is_committed(catalog):
    load(catalog, [1, 2], "mb-1", advance_to(2, None))
    with pytest.raises(LoadConflict, match="the stream is at 2"):
        load(catalog, [1, 2], "mb-other", advance_to(2, None))  # read from the start too: would duplicate
    assert rows(catalog) == [1, 2] and position(catalog) == {"offset": 2}
