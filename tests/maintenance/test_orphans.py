"""Orphan removal deletes unreferenced files older than the safety window (strays, a crashed load's data
files) and keeps everything the table references, the load-state files and anything younger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from maintenance.conftest import age, crashed_load, files_on_disk, orders, sorted_rows, table_dir
from tenantflow.loading import state
from tenantflow.maintenance import remove_orphan_files
from tenantflow.quality.housekeeping import referenced_files

DAY = 24 * 3600


@pytest.fixture
def table(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    for start in (0, 10, 20):
        table.append(orders(start, 10))
    table.delete("order_id < 10")
    return table


def test_removes_old_unreferenced_files_and_keeps_the_rest(table, monkeypatch):
    root = table_dir(table)
    state_file = root / "metadata" / "tenantflow-state-00001.json"
    state_file.write_text('{"watermark": "w"}')
    monkeypatch.setattr(state, "state_files", lambda t: {f"file://{state_file}"})
    stray = root / "data" / "stray.parquet"
    pq.write_table(orders(100, 5), stray)
    crashed = crashed_load(table, orders(200, 7))
    for path in files_on_disk(table):  # everything old: referenced files are kept for being referenced
        age(path, 2 * DAY)
    young = root / "data" / "being-written.parquet"
    pq.write_table(orders(300, 5), young)
    expected, metadata_files = sorted_rows(table), files_on_disk(table, ".metadata.json")
    orphans = [str(stray), *crashed]
    freed = sum((root / p).stat().st_size for p in orphans)
    before = files_on_disk(table)

    result = remove_orphan_files(table, older_than=datetime.now(UTC) - timedelta(days=1))

    assert (result.files_deleted, result.files_too_young, result.bytes_freed) == (1 + len(crashed), 1, freed)
    assert before - files_on_disk(table) == set(orphans)
    assert young.exists() and state_file.exists()
    assert files_on_disk(table, ".metadata.json") == metadata_files
    assert result.files_listed == len(before) and result.files_referenced == len(before) - len(orphans) - 1  # - young
    assert sorted_rows(table).equals(expected)
    again = remove_orphan_files(table, older_than=datetime.now(UTC) - timedelta(days=1))
    assert again.files_deleted == 0


def test_nothing_is_deleted_inside_the_window(table):
    crashed = crashed_load(table, orders(200, 7))
    result = remove_orphan_files(table, older_than=datetime.now(UTC) - timedelta(hours=1))
    assert result.files_deleted == 0 and result.files_too_young == len(crashed)
    assert all(table_dir(table).joinpath(p).exists() for p in crashed)


def test_deleted_snapshot_file_is_an_orphan_once_its_snapshot_is_expired(table):
    from tenantflow.maintenance import expire_snapshots

    (removed,) = [f for f in files_on_disk(table, ".parquet")
                  if f not in {t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()}]
    for path in files_on_disk(table):
        age(path, 2 * DAY)
    cutoff = datetime.now(UTC) - timedelta(days=1)
    assert remove_orphan_files(table, older_than=cutoff).files_deleted == 0, "an older snapshot references it"
    table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in table.snapshots()[:-1]]).commit()
    before = files_on_disk(table)
    result = remove_orphan_files(table, older_than=cutoff)  # pyiceberg's expiry left the files behind
    after = files_on_disk(table)
    assert removed in before - after, "the data file only expired snapshots referenced was left behind"
    assert result.files_deleted == len(before - after) >= 4  # + 3 manifest lists, manifests
    assert {p for p in after if not p.endswith(".metadata.json")} == {
        p.removeprefix("file://") for p in referenced_files(table)}
    assert expire_snapshots(table, older_than=cutoff, keep_last=1).snapshots_expired == 0
    assert sorted_rows(table).equals(orders(10, 20))
