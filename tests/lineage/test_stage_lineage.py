"""Each stage's lineage, built from the demo configs and a recorded run, as the provider would emit it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_new_uuid

from conftest import REPO
from lineage.finance_fx import LOOKUPS, SQL, add_transform, expected_column_lineage
from lineage.ol_schema import standard_facets, validate
from tenantflow.config.loader import load_tenant
from tenantflow.factory.dag_builder import build_dag
from tenantflow.lineage.datasets import landing_dataset, table_dataset
from tenantflow.lineage.stages import BUILDERS, stage_lineage
from tenantflow.operators.base import PipelineStageOperator
from tenantflow.pipeline_context import PipelineContext

HOME = "/srv/tenantflow"
TENANTS = ("finance", "retail", "healthcare")
ORDERS_SCHEMA = [{"name": n, "type": t} for n, t in (
    ("order_id", "int64"), ("customer_id", "int64"), ("order_date", "string"), ("amount", "double"),
    ("currency", "string"), ("status", "string"), ("updated_at", "string"))]


def contexts(root: Path = REPO / "tenant_configs") -> list[PipelineContext]:
    out = []
    for tenant in TENANTS:
        bundle = load_tenant(root, tenant)
        out += [PipelineContext(bundle.tenant, p, bundle.platform, HOME) for p in bundle.pipelines]
    return out


def stages_of(ctx: PipelineContext) -> list[str]:
    """The stages of the pipeline's DAG that emit lineage (the factory's tasks, not a list kept here)."""
    return [t.lineage_stage for t in build_dag(ctx).tasks
            if isinstance(t, PipelineStageOperator) and t.lineage_stage is not None]


def event(ctx: PipelineContext, stage: str, lineage) -> dict:
    run = RunEvent(eventType=RunState.COMPLETE, eventTime=dt.datetime.now(dt.UTC).isoformat(),
                   run=Run(runId=str(generate_new_uuid()), facets=lineage.run_facets),
                   job=Job(namespace="default", name=f"{ctx.dag_id}.{stage}"), producer="https://tenantflow.test",
                   inputs=lineage.inputs, outputs=lineage.outputs)
    return Serde.to_dict(run)


def fake_record(stage: str) -> dict:
    """What a run of ``stage`` records (its XCom result plus the schemas), trimmed to what lineage reads."""
    rules = [{"rule": "not_null(order_id)", "severity": "error", "success": True, "unexpected_count": 0},
             {"rule": "accepted_values(status)", "severity": "warn", "success": False, "unexpected_count": 7,
              "detail": "7 rows outside the accepted values"}]
    return {"extract": {"rows": 120, "files": ["part-00000.parquet"], "schema": ORDERS_SCHEMA},
            "land": {"rows": 120, "files": 1, "bytes": 4096, "schema": ORDERS_SCHEMA},
            "quality": {"rows": 120, "score": 98.5, "rules": rules, "quarantined_rows": 3, "schema": ORDERS_SCHEMA},
            "transform": {"rows": 110, "files": 1, "input_stage": "approved", "input_schema": ORDERS_SCHEMA,
                          "schema": ORDERS_SCHEMA},
            "load": {"rows": 117, "bytes": 4000, "input_stage": "approved",
                     "input_schema": [{"name": "order_id", "type": "int64"}, {"name": "email", "type": "string"}],
                     "table_schema": [{"name": "order_id", "type": "long"}, {"name": "email", "type": "string"}],
                     "pii": {"masking": {"email": "hash"}},
                     "table_properties": {"tenantflow.column.email.pii": "email"}},
            "register": {"registered": True, "table_schema": [{"name": "order_id", "type": "long"}],
                         "table_properties": {"tenantflow.classification": "highly_restricted",
                                              "tenantflow.column.email.pii": "email"}},
            "consume": {"rows": 5}}[stage]


CASES = [(ctx, stage) for ctx in contexts() for stage in stages_of(ctx)]


@pytest.mark.parametrize(("ctx", "stage"), CASES, ids=[f"{c.dag_id}.{s}" for c, s in CASES])
def test_each_stage_of_each_demo_pipeline_yields_a_valid_event_naming_its_datasets(ctx, stage, monkeypatch):
    monkeypatch.setattr("tenantflow.lineage.datasets._connection_value", lambda read: None)  # no connections here
    for record in (None, fake_record(stage)):
        doc = event(ctx, stage, stage_lineage(stage, ctx, record))
        assert validate(doc) == [], f"{ctx.dag_id}.{stage}"
        assert doc["run"]["facets"]["tenantflow_pipeline"]["tenant"] == ctx.tenant_id
        names = {(d["namespace"], d["name"]) for d in doc["inputs"] + doc["outputs"]}
        assert names, f"{ctx.dag_id}.{stage} names no dataset"
        table = table_dataset(ctx)
        if stage in ("load", "register", "consume"):
            assert (table.namespace, table.name) in {(d["namespace"], d["name"]) for d in doc["outputs"]}


def test_every_stage_operator_builds_its_lineage_through_the_provider_methods(monkeypatch):
    from airflow.providers.openlineage.extractors import OperatorLineage

    monkeypatch.setattr("tenantflow.lineage.datasets._connection_value", lambda read: None)
    seen = set()
    for ctx in contexts():
        for task in build_dag(ctx).tasks:
            if isinstance(task, PipelineStageOperator):
                assert isinstance(task.get_openlineage_facets_on_start(), OperatorLineage), task.task_id
                assert isinstance(task.get_openlineage_facets_on_complete(None), OperatorLineage), task.task_id
                seen.add(task.lineage_stage)
    assert seen == set(BUILDERS), "a stage operator without lineage, or a builder no operator uses"


def test_sql_and_file_sources_are_named_from_the_connection_and_the_path(monkeypatch):
    ctx = next(c for c in contexts() if c.dag_id == "finance__orders")
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__ERP", '{"conn_type": "sqlite", "host": "/data/finance/erp.db"}')
    source = stage_lineage("extract", ctx, None).inputs[0]
    assert (source.namespace, source.name) == ("sqlite:///data/finance/erp.db", "orders")
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__ERP", '{"conn_type": "postgres", "host": "erp.db.internal", '
                                                    '"schema": "erp", "login": "u", "password": "p"}')
    source = stage_lineage("extract", ctx, None).inputs[0]
    assert (source.namespace, source.name) == ("postgres://erp.db.internal:5432", "erp.public.orders")

    sales = next(c for c in contexts() if c.dag_id == "retail__sales")
    source = stage_lineage("extract", sales, None).inputs[0]
    assert (source.namespace, source.name) == ("file", f"{HOME}/sources/retail/sales")
    lab = next(c for c in contexts() if c.dag_id == "healthcare__partner_lab_results")
    source = stage_lineage("extract", lab, None).inputs[0]
    assert (source.namespace, source.name) == ("s3://acme-healthcare-lab-drop", "results")


def test_quality_facets_carry_each_rule_its_column_and_the_flagged_rows():
    ctx = next(c for c in contexts() if c.dag_id == "finance__orders")
    doc = event(ctx, "quality", stage_lineage("quality", ctx, fake_record("quality")))
    batch = doc["inputs"][0]
    assert (batch["namespace"], batch["name"]) == ("file", f"{HOME}/landing/finance/orders")
    assertions = batch["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a.get("column"), a.get("actual")) for a in assertions] == [
        ("not_null(order_id)", True, "order_id", "0"), ("accepted_values(status)", False, "status", "7")]
    assert batch["inputFacets"]["dataQualityMetrics"]["rowCount"] == 120
    assert batch["inputFacets"]["dataQualityMetrics"]["columnMetrics"]["order_id"]["nullCount"] == 0
    own = batch["inputFacets"]["tenantflow_quality"]
    assert (own["score"], own["flaggedRows"], own["quarantinedRows"]) == (98.5, 7, 3)
    assert [d["name"] for d in doc["outputs"]] == ["finance.orders__quarantine",
                                                   f"{HOME}/landing/finance/orders/_stages/approved"]


def test_the_table_carries_classification_and_pii_tags_and_masked_columns_are_marked():
    ctx = next(c for c in contexts() if c.dag_id == "finance__customers")
    load = event(ctx, "load", stage_lineage("load", ctx, fake_record("load")))["outputs"][0]
    tags = {(t["key"], t["value"], t.get("field")) for t in load["facets"]["tags"]["tags"]}
    assert tags == {("classification", "restricted", None), ("pii", "email", "email")}
    assert load["outputFacets"]["outputStatistics"]["rowCount"] == 117
    email = load["facets"]["columnLineage"]["fields"]["email"]["inputFields"][0]["transformations"][0]
    assert email == {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}
    register = event(ctx, "register", stage_lineage("register", ctx, fake_record("register")))["outputs"][0]
    assert ("classification", "highly_restricted", None) in {
        (t["key"], t["value"], t.get("field")) for t in register["facets"]["tags"]["tags"]}
    assert register["facets"]["catalog"]["framework"] == "iceberg"


def test_the_finance_orders_transform_has_exactly_its_column_lineage(tmp_path):
    import shutil

    shutil.copytree(REPO / "tenant_configs", tmp_path / "tenant_configs")
    add_transform(tmp_path / "tenant_configs")
    ctx = next(c for c in contexts(tmp_path / "tenant_configs") if c.dag_id == "finance__orders")
    transform = ctx.pipeline.transform
    assert (transform.sql.strip(), transform.lookups) == (SQL, LOOKUPS)
    assert "transform" in stages_of(ctx)
    doc = event(ctx, "transform", stage_lineage("transform", ctx, fake_record("transform")))
    assert validate(doc) == []
    batch, fx = landing_dataset(ctx, "approved"), table_dataset(ctx, "fx_rates")
    assert [(d["namespace"], d["name"]) for d in doc["inputs"]] == [(batch.namespace, batch.name),
                                                                    ("iceberg://local/finance", "finance.fx_rates")]
    facet = doc["outputs"][0]["facets"]["columnLineage"]
    got = {k: v for k, v in facet.items() if not k.startswith("_")}
    assert got == expected_column_lineage((batch.namespace, batch.name), (fx.namespace, fx.name))


def test_two_tenants_never_share_an_output_dataset_and_jobs_carry_the_tenant(monkeypatch):
    monkeypatch.setattr("tenantflow.lineage.datasets._connection_value", lambda read: None)
    finance = next(c for c in contexts() if c.dag_id == "finance__orders")
    # a second tenant with the same pipeline, table name and catalog: only the tenant differs
    other_tenant = finance.tenant.model_copy(update={
        "id": "finance2", "catalog": finance.tenant.catalog.model_copy(update={"namespace": "finance2"}),
        "storage": finance.tenant.storage.model_copy(update={"landing": "landing/finance2"})})
    twin = PipelineContext(other_tenant, finance.pipeline, finance.platform, HOME)
    outputs: dict[str, set] = {}
    for ctx in [*contexts(), twin]:
        for stage in stages_of(ctx):
            lineage = stage_lineage(stage, ctx, fake_record(stage))
            outputs.setdefault(ctx.tenant_id, set()).update((d.namespace, d.name) for d in lineage.outputs)
            assert lineage.run_facets["tenantflow_pipeline"].tenant == ctx.tenant_id
        assert build_dag(ctx).dag_id.startswith(f"{ctx.tenant_id}__")  # the job name is <dag_id>.<task_id>
        assert f"tenant:{ctx.tenant_id}" in build_dag(ctx).tags  # the provider's job `tags` facet
    tenants = sorted(outputs)
    assert tenants == ["finance", "finance2", "healthcare", "retail"]
    for i, a in enumerate(tenants):
        for b in tenants[i + 1:]:
            assert not outputs[a] & outputs[b], f"tenants {a} and {b} share output datasets"
            assert not {n for n, _ in outputs[a] if n.startswith("iceberg")} & {
                n for n, _ in outputs[b] if n.startswith("iceberg")}, "an Iceberg namespace shared by two tenants"


def test_the_schemas_reject_a_broken_facet_ours_included():
    ctx = next(c for c in contexts() if c.dag_id == "finance__orders")
    doc = event(ctx, "quality", stage_lineage("quality", ctx, fake_record("quality")))
    assert {"tenantflow_quality", "tenantflow_pipeline", "dataQualityAssertions"} <= standard_facets(doc)
    doc["inputs"][0]["inputFacets"]["tenantflow_quality"]["flaggedRows"] = -1
    doc["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0]["success"] = "yes"
    doc["run"]["facets"]["tenantflow_pipeline"]["stage"] = "publish"
    problems = validate(doc)
    assert len(problems) == 3 and all(p.startswith("facet ") for p in problems), problems
