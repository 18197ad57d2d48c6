"""Merge by keys: same result as pyiceberg's upsert, one atomic snapshot, only affected files rewritten."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings
from tenantflow.loading.merge import DuplicateMergeKeys, merge_into

SCHEMA = pa.schema([("id", pa.int64()), ("region", pa.string()), ("amount", pa.float64()),
                    ("status", pa.string())])


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    cat = open_catalog("test", settings, str(tmp_path))
    cat.create_namespace("t")
    return cat


def rows(ids, rng, status="old"):
    return pa.table({"id": ids, "region": [rng.choice("NESW") for _ in ids],
                     "amount": [round(rng.random() * 100, 2) for _ in ids], "status": [status] * len(ids)},
                    schema=SCHEMA)


def new_table(catalog, name, batches):
    table = catalog.create_table(f"t.{name}", schema=SCHEMA)
    for batch in batches:
        table.append(batch)
    return catalog.load_table(f"t.{name}")


def contents(table):
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda r: (r["id"], r["region"]))


def test_same_result_as_pyiceberg_upsert(catalog):
    rng = random.Random(3)
    initial = [rows(list(range(i * 1000, (i + 1) * 1000)), rng) for i in range(5)]
    ours, theirs = new_table(catalog, "ours", initial), new_table(catalog, "theirs", initial)
    changed = rng.sample(range(5000), 700) + list(range(5000, 5300))
    batch = rows(changed, rng, status="new")
    result = merge_into(ours, batch, ["id"], {"tenantflow.run-id": "r1"})
    theirs.upsert(batch, join_cols=["id"])
    assert contents(catalog.load_table("t.ours")) == contents(catalog.load_table("t.theirs"))
    assert (result.rows_updated, result.rows_inserted) == (700, 300)


def test_one_snapshot_with_the_run_id(catalog):
    rng = random.Random(1)
    table = new_table(catalog, "orders", [rows(list(range(100)), rng)])
    before = len(table.snapshots())
    merge_into(table, rows([5, 500], rng, "new"), ["id"], {"tenantflow.run-id": "r7"})
    table = catalog.load_table("t.orders")
    assert len(table.snapshots()) == before + 1
    assert table.current_snapshot().summary.additional_properties["tenantflow.run-id"] == "r7"
    assert table.scan().to_arrow().num_rows == 101


def test_only_files_that_can_hold_the_keys_are_read(catalog):
    rng = random.Random(2)
    table = new_table(catalog, "ranges", [rows(list(range(s, s + 100)), rng) for s in (0, 1000, 2000)])
    result = merge_into(table, rows([1005, 1050], rng, "new"), ["id"], {})
    assert (result.files_scanned, result.files_rewritten) == (1, 1)


def test_compound_keys(catalog):
    rng = random.Random(4)
    base = pa.table({"id": [1, 1, 2], "region": ["N", "S", "N"], "amount": [1.0, 2.0, 3.0],
                     "status": ["old"] * 3}, schema=SCHEMA)
    table = new_table(catalog, "compound", [base])
    batch = pa.table({"id": [1, 3], "region": ["S", "N"], "amount": [9.0, 4.0], "status": ["new"] * 2},
                     schema=SCHEMA)
    result = merge_into(table, batch, ["id", "region"], {})
    got = {(r["id"], r["region"]): r["status"] for r in contents(catalog.load_table("t.compound"))}
    assert got == {(1, "N"): "old", (1, "S"): "new", (2, "N"): "old", (3, "N"): "new"}
    assert (result.rows_updated, result.rows_inserted) == (1, 1)
    assert rng  # seeded for symmetry with the other tests


def test_duplicate_keys_in_the_batch_are_refused_before_any_write(catalog):
    rng = random.Random(5)
    table = new_table(catalog, "dups", [rows([1, 2], rng)])
    snapshots = len(table.snapshots())
    with pytest.raises(DuplicateMergeKeys, match=r"several rows for merge key\(s\) \['id'\], e.g. \[7\]"):
        merge_into(table, rows([7, 7], rng), ["id"], {})
    assert len(catalog.load_table("t.dups").snapshots()) == snapshots


def test_merge_into_an_empty_table(catalog):
    table = catalog.create_table("t.empty", schema=SCHEMA)
    result = merge_into(table, rows([1, 2], random.Random(6)), ["id"], {})
    assert result.rows_inserted == 2 and catalog.load_table("t.empty").scan().to_arrow().num_rows == 2


def test_partitioned_table(catalog):
    from pyiceberg.transforms import IdentityTransform

    rng = random.Random(8)
    table = catalog.create_table("t.parts", schema=SCHEMA)
    with table.update_spec() as spec:
        spec.add_field("region", IdentityTransform(), "region")
    table = catalog.load_table("t.parts")
    table.append(rows(list(range(200)), rng))
    merge_into(table, rows([1, 2, 300], rng, "new"), ["id"], {})
    data = catalog.load_table("t.parts").scan().to_arrow()
    assert data.num_rows == 201
    assert sorted(r["id"] for r in data.to_pylist() if r["status"] == "new") == [1, 2, 300]


def test_a_crash_before_the_commit_leaves_the_table_unchanged(catalog, monkeypatch):
    """Data files may be written, but without the commit no reader sees them; a retry is exact."""
    from pyiceberg.table import Transaction

    rng = random.Random(9)
    table = new_table(catalog, "crash", [rows(list(range(100)), rng)])
    before = contents(table)
    batch = rows([1, 2, 500], rng, "new")

    def crash(self, *args, **kwargs):
        raise RuntimeError("worker killed before commit")

    with monkeypatch.context() as patch:
        patch.setattr(Transaction, "commit_transaction", crash)
        with pytest.raises(RuntimeError, match="killed"):
            merge_into(catalog.load_table("t.crash"), batch, ["id"], {"tenantflow.run-id": "r1"})
    assert contents(catalog.load_table("t.crash")) == before
    merge_into(catalog.load_table("t.crash"), batch, ["id"], {"tenantflow.run-id": "r1"})
    after = catalog.load_table("t.crash").scan().to_arrow()
    new = [r["id"] for r in after.to_pylist() if r["status"] == "new"]
    assert after.num_rows == 101 and sorted(new) == [1, 2, 500]


def test_a_concurrent_commit_is_retried_against_the_new_snapshot(catalog):
    """The merge planned on a stale table loses the commit race, re-plans against the new snapshot and wins."""
    from tenantflow.config.models import Target
    from tenantflow.loading import commit
    from tenantflow.loading.commit import PlannedLoad
    from tenantflow.loading.iceberg_writer import write_batch

    rng = random.Random(10)
    new_table(catalog, "race", [rows(list(range(10)), rng)])
    load_table, raced = catalog.load_table, []

    def stale_then_fresh(identifier):  # another writer commits right after our first attempt loaded the table
        table = load_table(identifier)
        if not raced:
            raced.append(True)
            load_table(identifier).append(rows([100, 101], rng, "concurrent"))
        return table

    catalog.load_table = stale_then_fresh
    try:
        outcome = write_batch(catalog, "t.race", rows([1, 200], rng, "new"), Target(table="race", mode="merge",
                              merge_keys=("id",)), PlannedLoad(run_id="r1", pipeline_id="race"))
    finally:
        catalog.load_table = load_table
    data = {r["id"]: r["status"] for r in catalog.load_table("t.race").scan().to_arrow().to_pylist()}
    assert raced and outcome.rows == 2 and not outcome.skipped
    assert data[100] == data[101] == "concurrent", "the other writer's rows survive"
    assert data[1] == data[200] == "new" and len(data) == 13
    assert commit.ATTEMPTS > 1
