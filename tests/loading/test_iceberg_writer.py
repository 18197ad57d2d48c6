"""Iceberg writes: modes, exactly-once per run id, watermark state, schema evolution, partitions."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings, Target
from tenantflow.loading import state
from tenantflow.loading.arrow_types import iceberg_compatible
from tenantflow.loading.commit import PlannedLoad
from tenantflow.loading.iceberg_writer import write_batch


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    return open_catalog("test", settings, str(tmp_path))


def orders(ids, status="placed", amount=1.0):
    return pa.table({"order_id": pa.array(ids, pa.int64()), "status": [status] * len(ids),
                     "amount": [amount] * len(ids)})


def write(catalog, data, target, run_id, watermark=None):
    return write_batch(catalog, "finance.orders", data, target,
                       PlannedLoad(run_id=run_id, pipeline_id="orders", watermark=watermark))


def rows(catalog):
    return catalog.load_table("finance.orders").scan().to_arrow().sort_by("order_id")


def test_append_is_exactly_once_per_run_id(catalog):
    target = Target(table="orders", mode="append")
    first = write(catalog, orders([1, 2, 3]), target, "run-1")
    again = write(catalog, orders([1, 2, 3]), target, "run-1")
    write(catalog, orders([4]), target, "run-2")
    assert not first.skipped and again.skipped
    assert rows(catalog)["order_id"].to_pylist() == [1, 2, 3, 4]
    assert state.committed_run_ids(catalog.load_table("finance.orders")) == {"run-1", "run-2"}


def test_merge_updates_and_inserts_by_key(catalog):
    target = Target(table="orders", mode="merge", merge_keys=("order_id",))
    write(catalog, orders([1, 2]), target, "run-1")
    write(catalog, pa.concat_tables([orders([2], "shipped"), orders([3])]), target, "run-2")
    result = rows(catalog)
    assert result["order_id"].to_pylist() == [1, 2, 3]
    assert result["status"].to_pylist() == ["placed", "shipped", "placed"]


def test_merge_with_no_changes_still_records_the_run(catalog):
    target = Target(table="orders", mode="merge", merge_keys=("order_id",))
    write(catalog, orders([1, 2]), target, "run-1")
    write(catalog, orders([1, 2]), target, "run-2")
    assert "run-2" in state.committed_run_ids(catalog.load_table("finance.orders"))
    assert write(catalog, orders([1, 2]), target, "run-2").skipped


def test_overwrite_replaces_the_table(catalog):
    target = Target(table="orders", mode="overwrite")
    write(catalog, orders([1, 2, 3]), target, "run-1")
    write(catalog, orders([7]), target, "run-2")
    assert rows(catalog)["order_id"].to_pylist() == [7]


def test_watermark_is_committed_with_the_data(catalog):
    target = Target(table="orders", mode="append")
    write(catalog, orders([1]), target, "run-1", watermark="2026-11-01 10:00:00")
    write(catalog, orders([2]), target, "run-2")  # a run without new cursor values keeps the old mark
    table = catalog.load_table("finance.orders")
    assert state.last_watermark(table) == "2026-11-01 10:00:00"
    props = state.summary_properties(table.snapshots()[0])
    assert props[state.RUN_ID] == "run-1" and props[state.ROWS] == "1"


def test_new_columns_are_added_and_missing_ones_are_null(catalog):
    target = Target(table="orders", mode="append")
    write(catalog, orders([1]), target, "run-1")
    write(catalog, orders([2]).append_column("channel", pa.array(["web"])), target, "run-2")
    write(catalog, orders([3]).drop_columns(["status"]), target, "run-3")
    result = rows(catalog)
    assert result["channel"].to_pylist() == [None, "web", None]
    assert result["status"].to_pylist() == ["placed", "placed", None]


def test_partition_spec_from_config(catalog):
    target = Target.model_validate({"table": "orders", "mode": "append",
                                    "partition_by": [{"column": "status"},
                                                     {"column": "order_id", "transform": "bucket", "width": 4}]})
    write(catalog, orders([1, 2, 3]), target, "run-1")
    spec = catalog.load_table("finance.orders").spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [
        ("status_identity", "identity"), ("order_id_bucket", "bucket[4]")]


def test_partition_column_missing_from_data_is_a_clear_error(catalog):
    target = Target.model_validate({"table": "orders", "mode": "append", "partition_by": [{"column": "day"}]})
    with pytest.raises(ValueError, match=r"partition_by column\(s\) \['day'\] are not in the data"):
        write(catalog, orders([1]), target, "run-1")


def test_arrow_types_iceberg_cannot_store_are_normalised():
    table = pa.table({
        "ts": pa.array([1_000_000_000], pa.timestamp("ns")),
        "nothing": pa.nulls(1),
        "small": pa.array([1], pa.uint32()),
        "cat": pa.array(["a"]).dictionary_encode(),
    })
    fixed = iceberg_compatible(table)
    assert fixed.schema.field("ts").type == pa.timestamp("us")
    assert fixed.schema.field("nothing").type == pa.string()
    assert fixed.schema.field("small").type == pa.int64()
    assert fixed.schema.field("cat").type == pa.string()


def test_schema_policy_freeze_fails_with_a_readable_diff(catalog):
    from tenantflow.loading.iceberg_writer import SchemaFrozen

    target = Target(table="orders", mode="append", schema_policy="freeze")
    write(catalog, orders([1]), target, "run-1")
    wider = orders([2]).append_column("channel", pa.array(["web"]))
    with pytest.raises(SchemaFrozen, match=r"(?s)schema_policy: freeze.*\+ channel \(string\)"):
        write(catalog, wider, target, "run-2")
    assert rows(catalog).num_rows == 1


def test_schema_policy_discard_columns_drops_new_columns(catalog):
    target = Target(table="orders", mode="append", schema_policy="discard_columns")
    write(catalog, orders([1]), target, "run-1")
    write(catalog, orders([2]).append_column("channel", pa.array(["web"])), target, "run-2")
    assert rows(catalog).column_names == ["order_id", "status", "amount"] and rows(catalog).num_rows == 2


def test_evolve_widens_int_to_long(catalog):
    target = Target(table="orders", mode="append")
    narrow = pa.table({"order_id": pa.array([1], pa.int32()), "status": ["a"], "amount": [1.0]})
    write(catalog, narrow, target, "run-1")
    write(catalog, orders([2**40]), target, "run-2")
    table = catalog.load_table("finance.orders")
    assert str(table.schema().find_field("order_id").field_type) == "long"
    assert rows(catalog)["order_id"].to_pylist() == [1, 2**40]


def test_merge_with_a_delete_flag_removes_flagged_keys(catalog):
    target = Target(table="orders", mode="merge", merge_keys=("order_id",), delete_flag="is_deleted")

    def batch(ids, status, deleted):
        return orders(ids, status).append_column("is_deleted", pa.array(deleted, pa.bool_()))

    write(catalog, batch([1, 2, 3, 4], "placed", [False, False, None, False]), target, "run-1")
    write(catalog, batch([2, 3, 5], "shipped", [True, False, False]), target, "run-2")
    table = rows(catalog)
    assert "is_deleted" not in table.column_names, "the flag steers the merge; it is not stored"
    assert table["order_id"].to_pylist() == [1, 3, 4, 5]
    assert table["status"].to_pylist() == ["placed", "shipped", "placed", "shipped"]
    write(catalog, batch([1, 4], "x", [True, True]), target, "run-3")  # a batch of deletes only
    assert rows(catalog)["order_id"].to_pylist() == [3, 5]


def test_delete_flag_errors_are_clear(catalog):
    with pytest.raises(ValueError, match="`delete_flag` only applies to mode 'merge', not 'append'"):
        Target(table="orders", mode="append", delete_flag="d")
    target = Target(table="orders", mode="merge", merge_keys=("order_id",), delete_flag="is_deleted")
    with pytest.raises(ValueError, match="delete_flag column 'is_deleted' is not in the batch"):
        write(catalog, orders([1]), target, "run-1")


def test_overwrite_partitions_replaces_only_the_batchs_partitions(catalog):
    from tenantflow.config.models import PartitionField

    target = Target(table="orders", mode="overwrite", overwrite_scope="partitions",
                    partition_by=(PartitionField(column="status"),))
    write(catalog, pa.concat_tables([orders([1, 2], "placed"), orders([3], "shipped")]), target, "run-1")
    write(catalog, orders([10], "placed", amount=9.0), target, "run-2")  # only 'placed' is replaced
    table = rows(catalog)
    assert list(zip(table["order_id"].to_pylist(), table["status"].to_pylist(), strict=True)) == [
        (3, "shipped"), (10, "placed")]
    with pytest.raises(ValueError, match="`overwrite_scope: partitions` needs mode 'overwrite' and a `partition_by`"):
        Target(table="orders", mode="overwrite", overwrite_scope="partitions")


def test_a_run_without_rows_still_commits_its_state(catalog):
    from tenantflow.loading.iceberg_writer import commit_state

    target = Target(table="orders", mode="append")
    assert commit_state(catalog, "finance.orders", target, PlannedLoad(run_id="run-0", pipeline_id="orders",
                        watermark="1")) is None, "no table yet: nothing to protect"
    write(catalog, orders([1, 2]), target, "run-1", watermark="2")
    result = commit_state(catalog, "finance.orders", target, PlannedLoad(
        run_id="run-2", pipeline_id="orders", watermark="9", source_files=("s3://b/all-rejected.csv",)))
    table = catalog.load_table("finance.orders")
    assert not result.skipped and rows(catalog)["order_id"].to_pylist() == [1, 2]
    assert state.last_watermark(table) == "9" and "s3://b/all-rejected.csv" in state.loaded_files(table)
    again = commit_state(catalog, "finance.orders", target, PlannedLoad(run_id="run-2", pipeline_id="orders",
                                                                        watermark="9"))
    assert again.skipped and len(catalog.load_table("finance.orders").snapshots()) == len(table.snapshots())
