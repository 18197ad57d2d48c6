"""Compaction rewrites each partition's small files into about-target-size files in one snapshot: the same
rows, schema and partitions; the load state carried; a concurrent append makes it skip, losing nothing."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from maintenance.conftest import files_on_disk, orders, sorted_rows
from tenantflow.loading import state
from tenantflow.maintenance import compact, compaction

BIG = 128 * 1024 * 1024


@pytest.fixture
def small_files(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    for n in range(50):
        table.append(orders(n * 20, 20))
    return table


def test_fifty_small_files_become_one_with_the_same_rows_and_carried_state(small_files, monkeypatch):
    monkeypatch.setattr(state, "carried_properties", lambda table: {"tenantflow.watermark": "w-42", "x": "1"})
    expected, schema = sorted_rows(small_files), small_files.schema()

    result = compact(small_files, target_file_size_bytes=BIG, min_input_files=5)

    assert (result.groups_compacted, result.files_removed, result.files_added) == (1, 50, 1)
    assert result.rows_rewritten == 1000
    assert not result.skipped and len(small_files.inspect.files()) == 1
    assert sorted_rows(small_files).equals(expected)
    assert small_files.schema() == schema
    summary = small_files.current_snapshot().summary
    assert result.snapshot_id == small_files.current_snapshot().snapshot_id
    assert summary["tenantflow.watermark"] == "w-42" and summary["x"] == "1"
    assert summary["tenantflow.maintenance"] == "compaction"
    assert len(small_files.snapshots()) == 51, "one commit"
    again = compact(small_files, target_file_size_bytes=BIG, min_input_files=5)
    assert again.files_removed == 0 and len(small_files.snapshots()) == 51, "one file: nothing to do"


def test_files_are_packed_to_about_the_target_size(small_files):
    total = sum(small_files.inspect.files()["file_size_in_bytes"].to_pylist())
    result = compact(small_files, target_file_size_bytes=total // 2, min_input_files=5)
    assert (result.files_removed, result.files_added) == (50, 2)
    sizes = small_files.inspect.files()["record_count"].to_pylist()
    assert sorted(sizes) == [500, 500]


def test_too_few_small_files_or_large_files_are_left_alone(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    table.append(orders(0, 50_000))  # large relative to the target below
    large = table.inspect.files()["file_path"].to_pylist()
    target = table.inspect.files()["file_size_in_bytes"][0].as_py()
    for n in range(3):
        table.append(orders(100_000 + n, 1))
    assert compact(table, target_file_size_bytes=target, min_input_files=4).files_removed == 0
    assert len(table.snapshots()) == 4, "nothing committed"
    result = compact(table, target_file_size_bytes=target, min_input_files=3)
    assert (result.files_removed, result.files_added) == (3, 1)
    assert set(large) <= set(table.inspect.files()["file_path"].to_pylist()), "the large file is not rewritten"


def test_partitions_are_compacted_separately(catalog):
    from pyiceberg.transforms import IdentityTransform

    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    with table.update_spec() as spec:
        spec.add_field("region", IdentityTransform(), "region")
    for n in range(10):
        table.append(pa.concat_tables([orders(n * 10, 5, "eu"), orders(1000 + n * 10, 5, "us")]))
    table.append(orders(5000, 5, "apac"))
    table.append(orders(5005, 5, "apac"))  # 2 files: under min_input_files
    expected = sorted_rows(table)

    result = compact(table, target_file_size_bytes=BIG, min_input_files=3)

    assert (result.groups_compacted, result.files_removed, result.files_added) == (2, 20, 2)
    files = table.inspect.files()
    per_region = Counter(p["region"] for p in files["partition"].to_pylist())
    assert per_region == {"eu": 1, "us": 1, "apac": 2}
    for path, partition in zip(files["file_path"].to_pylist(), files["partition"].to_pylist(), strict=True):
        rows = table.scan(row_filter=f"region == '{partition['region']}'").to_arrow()
        assert set(rows["region"].to_pylist()) == {partition["region"]}
        assert f"region={partition['region']}" in path
    assert sorted_rows(table).equals(expected)


def test_a_concurrent_append_makes_compaction_skip_without_losing_rows(small_files, catalog, monkeypatch):
    plan = compaction.plan_compaction
    parquet_before = files_on_disk(small_files, ".parquet")

    def append_first(table, *args):  # another writer commits between our planning and our commit
        catalog.load_table("acme.orders").append(orders(10_000, 3))
        return plan(table, *args)

    monkeypatch.setattr(compaction, "plan_compaction", append_first)
    result = compact(small_files, target_file_size_bytes=BIG, min_input_files=5)

    assert result.skipped and result.files_removed == 0 and "concurrent commit" in result.reason
    fresh = catalog.load_table("acme.orders")
    assert sorted_rows(fresh).equals(pa.concat_tables([orders(0, 1000), orders(10_000, 3)]))
    assert len(fresh.inspect.files()) == 51
    assert fresh.current_snapshot().summary.get("tenantflow.maintenance") is None
    leftovers = files_on_disk(fresh, ".parquet") - parquet_before
    assert len(leftovers) == 1, f"the compaction's files were not cleaned up: {leftovers}"  # the append's file
