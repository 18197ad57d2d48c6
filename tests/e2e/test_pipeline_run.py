"""End to end through Airflow: source rows land in Iceberg exactly once per run id."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from e2e.helpers import last_run_id, open_table, run_dag

pytestmark = pytest.mark.e2e


def _checksum(rows) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows):
        digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def synced(airflow_db, demo_sources):
    run_cli("tenantflow", "sync")
    return demo_sources


@pytest.fixture(scope="module")
def orders_run(synced):
    result = run_dag("finance__orders", "2026-11-20")
    assert "state=success" in result.stdout + result.stderr
    return last_run_id("finance__orders")


def test_sql_source_rows_land_in_iceberg(orders_run, synced):
    table = open_table("finance.orders")
    landed = table.scan().to_arrow()
    db = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "finance" / "erp.db"
    with sqlite3.connect(db) as conn:
        source = conn.execute("SELECT order_id, amount, currency, status FROM orders").fetchall()
    assert landed.num_rows == len(source) == synced["finance.orders"]
    got = zip(*(landed[c].to_pylist() for c in ("order_id", "amount", "currency", "status")), strict=True)
    assert _checksum(got) == _checksum(source)


def test_table_is_registered_with_ownership(orders_run):
    props = open_table("finance.orders").properties
    assert props["tenantflow.tenant"] == "finance"
    assert props["tenantflow.pipeline"] == "orders"
    assert props["tenantflow.classification"] == "restricted"
    assert props["tenantflow.owner"] == "finance-data@example.com"
    assert props["tenantflow.source"] == "sql:finance__erp"


def test_snapshot_records_the_run_id(orders_run):
    summary = open_table("finance.orders").current_snapshot().summary.additional_properties
    assert summary["tenantflow.run-id"] == orders_run


def test_raw_batch_landed_with_manifest(orders_run, synced):
    from tenantflow.landing.batch import run_key

    batch = Path(os.environ["TENANTFLOW_HOME"]) / "landing" / "finance" / "orders" / run_key(orders_run)
    assert (batch / "_manifest.json").is_file()
    assert list(batch.glob("part-*.parquet"))
    assert not (batch.parent / "_staging" / run_key(orders_run)).exists()


def test_rerunning_load_of_same_run_adds_nothing(synced):
    run_dag("retail__sales", "2026-11-21")
    run_id = last_run_id("retail__sales")
    table = open_table("retail.sales")
    rows, snapshots = table.scan().to_arrow().num_rows, len(table.snapshots())
    assert rows == synced["retail.sales"]
    run_cli("airflow", "tasks", "test", "retail__sales", "load", run_id)
    table = open_table("retail.sales")
    assert table.scan().to_arrow().num_rows == rows, "re-running the load of the same run id duplicated rows"
    assert len(table.snapshots()) == snapshots


def test_append_pipelines_load_each_source_file_once(synced):
    table = open_table("retail.sales")
    before = table.scan().to_arrow().num_rows
    from tenantflow.loading import state

    loaded = state.loaded_files(table)
    assert len(loaded) == 5 and all(f.endswith(".csv") for f in loaded)

    run_dag("retail__sales", "2026-11-22")  # no new file: nothing is read again
    assert open_table("retail.sales").scan().to_arrow().num_rows == before

    drop = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "retail" / "sales" / "sales_2026-11-06.csv"
    drop.write_text("sale_id,store_id,sku,quantity,unit_price,sold_at,channel\n"
                    "900001,1,SKU-00001,2,9.99,2026-11-06T10:00:00,store\n"
                    "900002,2,SKU-00002,1,4.50,2026-11-06T11:00:00,online\n")
    run_dag("retail__sales", "2026-11-23")
    after = open_table("retail.sales").scan().to_arrow()
    assert after.num_rows == before + 2
    assert sorted(i for i in after["sale_id"].to_pylist() if i >= 900001) == [900001, 900002]


def test_malformed_rows_are_rejected_with_reasons_and_the_rest_loads(synced):
    import pyarrow.parquet as pq

    before = open_table("retail.sales").scan().to_arrow().num_rows
    drop = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "retail" / "sales" / "sales_2026-11-07.csv"
    drop.write_text("sale_id,store_id,sku,quantity,unit_price,sold_at,channel\n"
                    "910001,1,SKU-00001,2,9.99,2026-11-07T10:00:00,store\n"
                    "910002,1,SKU-00002,two,9.99,2026-11-07T10:05:00,store\n"  # quantity is not a number
                    "910003,1,SKU-00003,1,4.50,2026-11-07T11:00:00\n"  # a column missing
                    "910004,2,SKU-00004,1,4.50,2026-11-07T12:00:00,online\n")
    run_dag("retail__sales", "2026-11-24")
    after = open_table("retail.sales").scan().to_arrow()
    assert after.num_rows == before + 2
    assert sorted(i for i in after["sale_id"].to_pylist() if i >= 910001) == [910001, 910004]

    run_id = last_run_id("retail__sales")
    from tenantflow.landing.batch import BatchLocation, read_manifest

    location = BatchLocation(str(Path(os.environ["TENANTFLOW_HOME"]) / "landing" / "retail"), "sales", run_id)
    assert read_manifest(location).rejected_rows == 2
    rejects = pq.read_table(Path(location.rejects) / "rejects.parquet").to_pylist()
    assert sorted((r["row"], r["column"], r["reason"]) for r in rejects) == [
        (2, "quantity", "not a valid int64"), (3, None, "expected 7 columns, found 6")]
    assert next(r["raw"] for r in rejects if r["row"] == 2) == "two"
    assert all(r["file"].endswith("sales_2026-11-07.csv") for r in rejects)
    summary = json.loads((Path(location.rejects) / "_summary.json").read_text())
    assert summary["rejected_rows"] == 2
