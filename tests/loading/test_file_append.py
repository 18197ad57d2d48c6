"""Append by adding landed Parquet files: no row rewritten, exactly once, only when it is safe."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenantflow.config.models import CatalogSettings, Target
from tenantflow.loading.commit import PlannedLoad
from tenantflow.loading.iceberg_writer import append_landed_parts

APPEND = Target(table="events", mode="append")


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    return open_catalog("t", CatalogSettings(type="sql", properties={
        "uri": "sqlite:///{home}/c.db", "warehouse": "file://{home}/w"}), str(tmp_path))


def parts(tmp_path, *tables):
    paths = []
    for i, table in enumerate(tables):
        path = tmp_path / f"part-{i}.parquet"
        pq.write_table(table, path)
        paths.append(str(path))
    return paths, [t.schema for t in tables]


def batch(ids):
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids],
                     "at": pa.array(ids, pa.timestamp("us", tz="UTC"))})


def append(catalog, paths, schemas, target=APPEND, run_id="r1"):
    rows = sum(pq.read_metadata(p).num_rows for p in paths)
    return append_landed_parts(catalog, "t.events", paths, schemas, rows, target,
                               PlannedLoad(run_id=run_id, pipeline_id="events", watermark="5"),
                               read=lambda: pa.concat_tables([pq.read_table(p) for p in paths]))


def test_parts_become_data_files_without_rewrite(catalog, tmp_path):
    paths, schemas = parts(tmp_path, batch([1, 2]), batch([3]))
    result = append(catalog, paths, schemas)
    table = catalog.load_table("t.events")
    assert result is not None and result.rows == 3 and not result.skipped
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [1, 2, 3]
    files = table.inspect.files()
    assert files.num_rows == 2 and sorted(files["record_count"].to_pylist()) == [1, 2]
    summary = table.current_snapshot().summary.additional_properties
    assert summary["tenantflow.run-id"] == "r1" and summary["tenantflow.watermark"] == "5"


def test_same_run_id_is_skipped(catalog, tmp_path):
    paths, schemas = parts(tmp_path, batch([1]))
    append(catalog, paths, schemas)
    again = append(catalog, paths, schemas)
    assert again.skipped and catalog.load_table("t.events").scan().to_arrow().num_rows == 1


def test_partitioned_or_other_modes_fall_back_to_a_row_write(catalog, tmp_path):
    paths, schemas = parts(tmp_path, batch([1]))
    partitioned = Target.model_validate({"table": "events", "mode": "append", "partition_by": [{"column": "id"}]})
    assert append(catalog, paths, schemas, target=partitioned) is None
    assert append(catalog, paths, schemas, target=Target(table="events", mode="overwrite")) is None


def test_schema_difference_falls_back(catalog, tmp_path):
    paths, schemas = parts(tmp_path, batch([1]))
    append(catalog, paths, schemas)
    wider = batch([2]).append_column("extra", pa.array(["x"]))
    paths2, schemas2 = parts(tmp_path / "more" if (tmp_path / "more").mkdir() is None else tmp_path, wider)
    assert append(catalog, paths2, schemas2, run_id="r2") is None
