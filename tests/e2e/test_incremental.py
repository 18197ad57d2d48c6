"""Incremental loading end to end: the second run extracts only changed rows and merges them."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from e2e.helpers import last_run_id, open_table, run_dag

pytestmark = pytest.mark.e2e


def test_second_run_reads_only_rows_after_the_watermark(airflow_db, demo_sources):
    run_cli("tenantflow", "sync")
    db = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "healthcare" / "clinic.db"
    run_dag("healthcare__appointments", "2026-11-24")
    table = open_table("healthcare.appointments")
    total = demo_sources["healthcare.appointments"]
    assert table.scan().to_arrow().num_rows == total
    watermark = table.current_snapshot().summary.additional_properties["tenantflow.watermark"]
    with sqlite3.connect(db) as conn:
        (max_updated,) = conn.execute("SELECT max(updated_at) FROM appointments").fetchone()
        assert watermark == max_updated
        conn.execute("UPDATE appointments SET status = 'cancelled', updated_at = '2027-01-01 00:00:00' "
                     "WHERE appointment_id IN (1, 2, 3)")
        conn.execute("INSERT INTO appointments VALUES (999001, 42, 1, '2027-01-02 09:00:00', 30, "
                     "'booked', '2027-01-01 00:00:01')")

    run_dag("healthcare__appointments", "2026-11-25")
    run_id = last_run_id("healthcare__appointments")
    from tenantflow.landing.batch import run_key

    manifest = Path(os.environ["TENANTFLOW_HOME"]) / "landing" / "healthcare" / "appointments" / run_key(run_id)
    assert json.loads((manifest / "_manifest.json").read_text())["rows"] == 4, "only changed rows are extracted"
    result = open_table("healthcare.appointments").scan().to_arrow()
    assert result.num_rows == total + 1
    status = dict(zip(result["appointment_id"].to_pylist(), result["status"].to_pylist(), strict=True))
    assert [status[i] for i in (1, 2, 3, 999001)] == ["cancelled", "cancelled", "cancelled", "booked"]
    assert open_table("healthcare.appointments").current_snapshot().summary.additional_properties[
        "tenantflow.watermark"] == "2027-01-01 00:00:01"
