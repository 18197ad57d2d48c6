"""Quarantine through Airflow: failing rows go to the tenant's quarantine table with rule and reason,
exactly the passing rows load, results and profiles are recorded once per run, and the trend is
readable with `tenantflow quality`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from conftest import run_cli
from e2e.helpers import demo_tree, last_run_id, open_table, run_dag

pytestmark = pytest.mark.e2e

RULES = """quality:
  - rule: not_null
    column: sale_id
  - rule: unique
    column: sale_id
  - rule: range
    column: quantity
    min: 1
    max: 4
    severity: quarantine
  - rule: accepted_values
    column: channel
    values: [store]
    severity: quarantine
  - rule: schema
    columns: {sale_id: integer, quantity: integer, channel: string}
  - rule: duplicates
    columns: [sale_id]
  - rule: anomaly
    metric: row_count
target:"""


@pytest.fixture(scope="module")
def quarantined(tmp_path_factory, airflow_db):
    root = tmp_path_factory.mktemp("quarantine")
    home, env = demo_tree(root)
    sales = root / "tenant_configs" / "retail" / "pipelines" / "sales.yaml"
    text = sales.read_text()
    start, end = text.index("quality:"), text.index("target:")
    sales.write_text(text[:start] + RULES + text[end + len("target:"):])
    run_cli("tenantflow", "sync", env=env)
    result = run_dag("retail__sales", "2026-11-24", env=env)
    output = result.stdout + result.stderr
    assert "state=success" in output, output[-4000:]
    return {"env": env, "home": home, "output": output, "run_id": last_run_id("retail__sales", env=env)}


def source_rows(home: Path) -> pa.Table:
    files = sorted((home / "sources" / "retail" / "sales").glob("*.csv"))
    return pa.concat_tables([pcsv.read_csv(f) for f in files])


def test_failing_rows_are_quarantined_and_passing_rows_load(quarantined, monkeypatch):
    for key, value in quarantined["env"].items():
        monkeypatch.setenv(key, value)
    source = source_rows(quarantined["home"]).to_pylist()
    too_many = {r["sale_id"] for r in source if r["quantity"] > 4}
    online = {r["sale_id"] for r in source if r["channel"] != "store"}
    failing = too_many | online
    assert too_many and online and too_many & online, "the demo data should exercise both rules and their overlap"

    quarantine = open_table("retail.sales__quarantine", home=str(quarantined["home"])).scan().to_arrow().to_pylist()
    assert sorted(r["sale_id"] for r in quarantine) == sorted(failing)  # each failing row exactly once
    expected_rule = {
        sid: "; ".join(label for label, hit in (("range(quantity)", sid in too_many),
                                                 ("accepted_values(channel)", sid in online)) if hit)
        for sid in failing}
    assert {r["sale_id"]: r["_rule"] for r in quarantine} == expected_rule
    both = next(r for r in quarantine if r["sale_id"] in too_many & online)
    assert both["_reason"] == "quantity is outside [1, 4]; channel is not one of the 1 accepted values"
    assert {r["_run_id"] for r in quarantine} == {quarantined["run_id"]}

    loaded = open_table("retail.sales", home=str(quarantined["home"])).scan().to_arrow()
    passing = {r["sale_id"] for r in source} - failing
    assert sorted(loaded["sale_id"].to_pylist()) == sorted(passing)
    assert "[QUARANTINE] range(quantity) severity=quarantine" in quarantined["output"]
    assert f"quarantined {len(failing)} row(s) into retail.sales__quarantine" in quarantined["output"]


def test_a_retried_quality_task_adds_nothing(quarantined, monkeypatch):
    for key, value in quarantined["env"].items():
        monkeypatch.setenv(key, value)
    from tenantflow.config.loader import load_tenant
    from tenantflow.operators.quality import QualityCheckOperator
    from tenantflow.pipeline_context import PipelineContext

    home = quarantined["home"]
    bundle = load_tenant(Path(quarantined["env"]["TENANTFLOW_CONFIG_DIR"]), "retail")
    ctx = PipelineContext(bundle.tenant, bundle.pipeline("sales"), bundle.platform, str(home))

    def counts() -> tuple[int, ...]:
        return tuple(open_table(f"retail.{t}", home=str(home)).scan().to_arrow().num_rows
                     for t in ("sales__quarantine", "_quality_results", "_profiles", "sales"))

    before = counts()
    summary = QualityCheckOperator(task_id="quality", pipeline_ctx=ctx).execute({"run_id": quarantined["run_id"]})
    assert summary["quarantined_rows"] == before[0] > 0
    assert counts() == before
    # the XCom summary carries counts only: no SKU, timestamp or other row value of the batch
    assert "SKU-" not in json.dumps(summary) and "2026-" not in json.dumps(summary)
    assert set(summary) == {"rows", "score", "passed", "failed_error", "failed_warn", "failed_quarantine", "rules",
                            "quarantined_rows", "data_docs"}
    assert summary["data_docs"] is None  # sales lists no GX expectation: no GX run, no Data Docs


def test_results_are_recorded_with_the_documented_score(quarantined):
    home = quarantined["home"]
    results = open_table("retail._quality_results", home=str(home)).scan().to_arrow().to_pylist()
    runs = {r["run_id"] for r in results}
    assert runs == {quarantined["run_id"]}
    by_rule = {r["rule"]: r for r in results}
    source = source_rows(home).to_pylist()
    share_qty = sum(r["quantity"] > 4 for r in source) / len(source)
    share_online = sum(r["channel"] != "store" for r in source) / len(source)
    # 4 error rules pass (not_null, unique, schema, duplicates: w=3), 2 quarantine rules flag shares of rows
    # (w=2), the anomaly rule (warn, w=1) passes
    expected = 100 * (1 - (2 * share_qty + 2 * share_online) / (3 * 4 + 2 * 2 + 1))
    assert by_rule["*"]["score"] == pytest.approx(expected, abs=0.01)
    assert by_rule["range(quantity)"]["unexpected_count"] == sum(r["quantity"] > 4 for r in source)
    assert by_rule["anomaly(row_count)"]["detail"] == "insufficient history (0 of 5 runs)"
    assert not any("@" in str(v) for r in results for v in r.values())


def test_cli_prints_the_trend(quarantined):
    env = quarantined["env"]
    table = run_cli("tenantflow", "quality", "retail", "sales", env=env).stdout
    header, row = table.splitlines()[:2]
    assert header.split() == ["PIPELINE", "RUN", "TIME", "ROWS", "SCORE", "QUARANTINED", "FAILED", "RULES"]
    assert row.split()[:2] == ["sales", quarantined["run_id"]]
    assert "range(quantity)[quarantine], accepted_values(channel)[quarantine]" in row
    (run,) = json.loads(run_cli("tenantflow", "quality", "retail", "--json", "--last", "5", env=env).stdout)
    assert run["pipeline"] == "sales" and run["rows"] == 500 and 0 < run["score"] < 100
    assert run["quarantined_rows"] > 0
    missing = run_cli("tenantflow", "quality", "retail", "nope", env=env, check=False)
    assert missing.returncode == 1 and "tenantflow quality: tenant 'retail' has no pipeline 'nope'" in missing.stderr


def test_the_run_is_in_the_tenants_audit_trail_with_the_user_who_triggered_it(quarantined):
    """Through Airflow's own Task SDK: `airflow dags test` triggers as the user "dag_test"."""
    out = run_cli("tenantflow", "audit", "retail", "--format", "json", env=quarantined["env"]).stdout
    records = [r for r in json.loads(out[out.index("["):]) if r["run_id"] == quarantined["run_id"]]
    by_action = {r["action"]: r for r in records}
    assert set(by_action) == {"quarantine", "load"} and len(records) == 2, records  # a retried task added none
    assert {r["actor"] for r in records} == {"dag_test"}
    assert by_action["quarantine"]["details"]["rows_quarantined"] == len(
        open_table("retail.sales__quarantine", home=str(quarantined["home"])).scan().to_arrow())
    loaded = open_table("retail.sales", home=str(quarantined["home"]))
    assert by_action["load"]["snapshot_id"] == loaded.current_snapshot().snapshot_id
    assert by_action["load"]["details"]["rows_added"] == loaded.scan().to_arrow().num_rows
