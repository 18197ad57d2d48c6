"""A real DAG run's metrics arrive at a local StatsD receiver through Airflow's own metrics path,
with tenant/pipeline/stage tags and the run's real numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from conftest import run_cli
from e2e.helpers import demo_tree, last_run_id, open_table, run_dag
from metrics.statsd_receiver import StatsdReceiver

pytestmark = pytest.mark.e2e

QUARANTINE_RULE = """quality:
  - rule: range
    column: quantity
    min: 1
    max: 4
    severity: quarantine
"""
WHO = {"tenant": "retail", "pipeline": "sales"}
# one good row and one malformed row (quantity is not a number): extract rejects it
DROP = ("sales_2026-11-07.csv", "sale_id,store_id,sku,quantity,unit_price,sold_at,channel\n"
        "910001,1,SKU-00001,2,9.99,2026-11-07T10:00:00,store\n"
        "910002,1,SKU-00002,two,9.99,2026-11-07T10:05:00,store\n")
GATE = """quality:
  - rule: row_count
    min: 1000000000
"""


@pytest.fixture(scope="module")
def emitted(tmp_path_factory, airflow_db):
    root = tmp_path_factory.mktemp("metrics")
    home, env = demo_tree(root)
    sales = root / "tenant_configs" / "retail" / "pipelines" / "sales.yaml"
    sales.write_text(sales.read_text().replace("quality:\n", QUARANTINE_RULE, 1))
    source = _source_rows(home)
    (home / "sources" / "retail" / "sales" / DROP[0]).write_text(DROP[1])
    run_cli("tenantflow", "sync", env=env)
    receiver = StatsdReceiver()
    try:
        env = {**env, **receiver.env()}
        result = run_dag("retail__sales", "2026-11-24", env=env)
        assert "state=success" in result.stdout + result.stderr, (result.stdout + result.stderr)[-4000:]
        runs = [last_run_id("retail__sales", env=env)]
        result = run_dag("retail__maintenance", "2026-11-25", env=env)
        assert "state=success" in result.stdout + result.stderr, (result.stdout + result.stderr)[-4000:]
        maintained = len(receiver.lines)
        # an error-severity rule fails the gate: the quality task fails (no retry can help)
        sales.write_text(sales.read_text().replace("quality:\n", GATE, 1))
        (home / "sources" / "retail" / "sales" / "sales_2026-11-08.csv").write_text(DROP[1].split("910002")[0])
        result = run_dag("retail__sales", "2026-11-26", env=env, check=False)
        assert "state=failed" in result.stdout + result.stderr, (result.stdout + result.stderr)[-4000:]
    finally:
        receiver.close()
    (root / "received.txt").write_text("\n".join(receiver.lines))  # for a human reading a failure
    points = receiver.points()
    return {"env": env, "home": home, "source": source, "points": points[:maintained], "failed": points[maintained:],
            "run_id": runs[0]}


def _values(points, name: str, **tags: str) -> list[float]:
    return [p.value for p in points if p.name == name and p.has(**tags)]


def _source_rows(home: Path) -> pa.Table:
    return pa.concat_tables([pcsv.read_csv(f) for f in sorted((home / "sources" / "retail" / "sales").glob("*.csv"))])


def test_rows_per_stage_are_the_runs_rows(emitted):
    points, source = emitted["points"], emitted["source"]
    quarantined = sum(q > 4 for q in source["quantity"].to_pylist())
    assert 0 < quarantined < source.num_rows, "the demo data should exercise the quarantine rule"
    rows = source.num_rows + 1  # the demo files' rows and the good row of DROP
    for stage in ("extract", "land", "quality"):
        assert _values(points, "airflow.tenantflow.rows", **WHO, stage=stage) == [rows], stage
    assert _values(points, "airflow.tenantflow.rows", **WHO, stage="load") == [rows - quarantined]
    assert _values(points, "airflow.tenantflow.rejected_rows", **WHO) == [1]
    assert _values(points, "airflow.tenantflow.quarantine.rows", **WHO) == [quarantined]
    assert _values(points, "airflow.tenantflow.quality.flagged_rows", **WHO) == [quarantined]
    (score,) = _values(points, "airflow.tenantflow.quality.score", **WHO)
    assert 0 < score < 100


def test_bytes_are_the_landed_parquet_bytes(emitted):
    from tenantflow.landing.batch import BatchLocation, read_manifest

    location = BatchLocation(str(emitted["home"] / "landing" / "retail"), "sales", emitted["run_id"])
    landed = sum(p["bytes"] for p in read_manifest(location).parts)
    points = emitted["points"]
    assert _values(points, "airflow.tenantflow.bytes", **WHO, stage="extract") == [landed]
    assert _values(points, "airflow.tenantflow.bytes", **WHO, stage="land") == [landed]
    (loaded,) = _values(points, "airflow.tenantflow.bytes", **WHO, stage="load")  # the approved batch
    assert 0 < loaded < landed


def test_freshness_gauges_name_the_table(emitted, monkeypatch):
    for key, value in emitted["env"].items():
        monkeypatch.setenv(key, value)
    snapshot_s = open_table("retail.sales", home=str(emitted["home"])).current_snapshot().timestamp_ms / 1000
    points = emitted["points"]
    at_load, from_maintenance = _values(points, "airflow.tenantflow.table.last_load_timestamp", **WHO,
                                        table="retail.sales")
    assert abs(at_load - snapshot_s) < 60  # the load task's clock, just after its commit
    assert from_maintenance == snapshot_s  # the maintenance DAG reads the load snapshot
    (lag,) = _values(points, "airflow.tenantflow.table.freshness_lag_seconds", **WHO, table="retail.sales")
    assert 0 <= lag < 900


def test_airflow_own_task_metrics_carry_the_tenant_dag_id(emitted):
    points = emitted["points"]
    for stage in ("extract", "land", "quality", "load"):
        assert _values(points, f"airflow.ti.finish.retail__sales.{stage}.success"), stage
        assert _values(points, f"airflow.dag.retail__sales.{stage}.duration"), stage


def test_every_tenantflow_point_has_exactly_its_declared_labels(emitted):
    from tenantflow.metrics.names import CATALOGUE, PIPELINE_METRICS

    declared = {f"airflow.{m.name}": set(m.labels) for m in CATALOGUE}
    ours = [p for p in emitted["points"] if p.name.startswith("airflow.tenantflow.")]
    assert ours
    names = {p.name for p in ours}
    # every pipeline metric arrives; alert metrics too when the example tenant's alert targets are used
    assert {f"airflow.{m.name}" for m in PIPELINE_METRICS} <= names <= set(declared), json.dumps(sorted(names))
    for p in ours:
        assert set(p.tags) == declared[p.name], p


def test_a_failed_gate_reports_its_score_and_airflow_counts_the_failure(emitted):
    failed = emitted["failed"]
    (score,) = _values(failed, "airflow.tenantflow.quality.score", **WHO)
    assert score < 100
    assert _values(failed, "airflow.ti.finish.retail__sales.quality.failed") == [1]
    # Airflow 3.3 counts an AirflowFailException (our gate) in ti.finish, not in ti_failures: the
    # failure metric the mapping builds on is ti.finish
    assert _values(failed, "airflow.ti.finish", dag_id="retail__sales", task_id="quality", state="failed") == [1]
    assert not _values(failed, "airflow.tenantflow.rows", **WHO, stage="load"), "nothing loads after a failed gate"
