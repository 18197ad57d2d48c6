"""Snapshot expiry keeps the newest, the current and the tagged snapshots, and deletes exactly the files
that only the expired snapshots referenced: the table and time travel to a kept snapshot read the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from maintenance.conftest import files_on_disk, orders, sorted_rows
from tenantflow.maintenance import expire_snapshots
from tenantflow.quality.housekeeping import referenced_files

LATER = datetime.now(UTC) + timedelta(days=1)  # every snapshot a test makes is older than this


def at(snapshot) -> datetime:
    return datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)


def plain(paths) -> set[str]:
    return {p.removeprefix("file://") for p in paths}


def test_expiry_keeps_keep_last_and_deletes_only_unreferenced_files(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    for start in (0, 10, 20):
        table.append(orders(start, 10))
    (first_file,) = plain(t.file.file_path for t in table.scan(row_filter="order_id < 10").plan_files())
    table.delete("order_id < 10")  # drops the first append's file from the current snapshot
    table.append(orders(30, 10))
    kept_ids = [s.snapshot_id for s in table.snapshots()[-2:]]
    before = files_on_disk(table)

    result = expire_snapshots(table, older_than=LATER, keep_last=2)

    after = files_on_disk(table)
    assert (result.snapshots_expired, result.snapshots_kept) == (3, 2)
    assert [s.snapshot_id for s in table.snapshots()] == kept_ids
    assert result.files_deleted == len(before - after) > 3  # 3 manifest lists, the first file, manifests
    assert first_file in before - after, "only the expired snapshots referenced the first append's file"
    assert len(files_on_disk(table, ".parquet")) == 3
    live = plain(referenced_files(table))
    assert live <= after, "a file a kept snapshot references was deleted"
    assert {p for p in after if not p.endswith(".metadata.json")} == live, "a file only expired snapshots used is left"
    assert sorted_rows(table).equals(orders(10, 30))
    assert table.scan(snapshot_id=kept_ids[0]).to_arrow().sort_by("order_id").equals(orders(10, 20))


def test_expiry_keeps_tagged_and_younger_snapshots(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    for start in (0, 10, 20, 30):
        table.append(orders(start, 10))
    s1, s2, s3, s4 = table.snapshots()
    table.manage_snapshots().create_tag(s2.snapshot_id, "audit").commit()

    assert expire_snapshots(table, older_than=at(s1), keep_last=1).snapshots_expired == 0, "strictly older only"
    first = expire_snapshots(table, older_than=at(s3), keep_last=1)
    assert (first.snapshots_expired, first.files_deleted) == (1, 1)  # s1 (s2 is tagged): its manifest list
    rest = expire_snapshots(table, older_than=LATER, keep_last=1)
    assert (rest.snapshots_expired, rest.snapshots_kept, rest.files_deleted) == (1, 2, 1)  # s3's manifest list
    assert {s.snapshot_id for s in table.snapshots()} == {s2.snapshot_id, s4.snapshot_id}
    assert table.scan(snapshot_id=s2.snapshot_id).to_arrow().sort_by("order_id").equals(orders(0, 20))
    assert sorted_rows(table).equals(orders(0, 40))
    assert len(files_on_disk(table, ".parquet")) == 4, "every data file is still referenced by s4"


def test_keep_last_must_keep_the_current_snapshot(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    table.append(pa.table({"order_id": pa.array([1], pa.int64()), "region": ["eu"], "amount": [1.0]}))
    with pytest.raises(ValueError, match="keep_last must be at least 1"):
        expire_snapshots(table, older_than=LATER, keep_last=0)
    assert len(table.snapshots()) == 1
