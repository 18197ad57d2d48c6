"""The quality results record the run's GX Data Docs link, also in tables made before the column existed."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from pydantic import TypeAdapter

from quality.catalog_fixture import quality_store
from tenantflow.config.models import QualityCheck
from tenantflow.quality.report import QualityReport
from tenantflow.quality.runner import run_quality
from tenantflow.quality.store import RESULTS_TABLE, results_schema

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
RULES = TypeAdapter(list[QualityCheck]).validate_python([{"rule": "not_null", "column": "id"}])


def test_the_data_docs_link_is_recorded_with_the_run(tmp_path):
    store = quality_store(tmp_path)
    report = run_quality(pa.table({"id": [1, 2]}), RULES, "t")
    linked = QualityReport(report.rows, report.outcomes, data_docs="s3://acme/raw/_quality_docs/d/run=1/index.html")
    assert store.record_results(linked, pipeline="orders", run_id="r1", at=AT, quarantined_rows=0)
    assert store.record_results(report, pipeline="orders", run_id="r2", at=AT + dt.timedelta(hours=1),
                                quarantined_rows=0)
    assert [r["data_docs"] for r in store.trend("orders")] == [linked.data_docs, None]


def test_a_results_table_without_the_column_gains_it(tmp_path):
    store = quality_store(tmp_path)
    old = pa.schema([f for f in results_schema() if f.name != "data_docs"])
    store.catalog.create_namespace("acme")
    store.catalog.create_table(f"acme.{RESULTS_TABLE}", schema=old)
    report = run_quality(pa.table({"id": [1]}), RULES, "t")
    linked = QualityReport(report.rows, report.outcomes, data_docs="file:///x/index.html")
    assert store.record_results(linked, pipeline="orders", run_id="r1", at=AT, quarantined_rows=0)
    table = store.catalog.load_table(f"acme.{RESULTS_TABLE}")
    assert "data_docs" in table.schema().column_names
    assert store.trend()[0]["data_docs"] == "file:///x/index.html"
