"""Event-driven schedules in the DAGs the factory builds: Assets, watchers, outlets, and the cluster policy.

The example pipelines: retail/online_sales (`after: [products]` and a cron) and healthcare/
partner_lab_results (`on: file_arrival`). Other shapes are made by editing a copy of the config tree.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantflow.config import load_all, load_tenant
from tenantflow.factory.dag_builder import build_dag
from tenantflow.isolation.policy import asset_violations, dag_violations
from tenantflow.pipeline_context import PipelineContext
from tenantflow.triggers.file_arrival import FileArrivalTrigger

REPO = Path(__file__).resolve().parents[2]
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/healthcare-lab-arrivals"


def dag_of(root: Path, tenant: str, pipeline: str):
    bundle = load_tenant(root, tenant)
    return build_dag(PipelineContext(bundle.tenant, bundle.pipeline(pipeline), bundle.platform, "/tmp/home"))


@pytest.fixture(scope="module")
def dags():
    bundles, failures = load_all(REPO / "tenant_configs")
    assert not failures
    return {f"{t}__{p.id}": build_dag(PipelineContext(b.tenant, p, b.platform, "/tmp/home"))
            for t, b in bundles.items() for p in b.pipelines if p.enabled}


def _keys(condition) -> set[tuple[str, str]]:
    objects = getattr(condition, "objects", None)
    if objects is not None:
        return set().union(*(_keys(o) for o in objects))
    return {(condition.name, condition.uri)}


def test_after_with_a_cron_is_an_asset_or_time_schedule_on_the_upstream_outlet(dags):
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    online_sales, products = dags["retail__online_sales"], dags["retail__products"]
    timetable = online_sales.timetable
    assert isinstance(timetable, AssetOrTimeSchedule), type(timetable)
    assert isinstance(timetable.timetable, CronTriggerTimetable)
    assert timetable.timetable.expression == "45 * * * *"
    outlet = products.get_task("register").outlets
    assert [(a.name, a.uri) for a in outlet] == [("retail.products", "x-iceberg://local/retail/products")]
    assert _keys(timetable.asset_condition) == {("retail.products", "x-iceberg://local/retail/products")}


def test_every_pipeline_declares_its_table_asset_as_register_outlet(dags):
    for dag_id, dag in dags.items():
        assert [a.group for a in dag.get_task("register").outlets] == ["iceberg"], dag_id


def test_file_arrival_is_an_asset_watched_on_the_tenants_queue_with_its_connection(dags):
    dag = dags["healthcare__partner_lab_results"]
    (asset,) = [a for a in _assets(dag.timetable.asset_condition)]
    assert (asset.name, asset.uri, asset.group) == (
        "healthcare__partner_lab_results__file_arrival", "x-file-arrival://healthcare/partner_lab_results",
        "file_arrival")
    (watcher,) = asset.watchers
    trigger = watcher.trigger
    assert isinstance(trigger, FileArrivalTrigger)
    assert trigger.serialize() == ("tenantflow.triggers.file_arrival.FileArrivalTrigger", {
        "tenant_id": "healthcare", "queue_url": QUEUE, "aws_conn_id": "healthcare__lab_drop",
        "poll_seconds": 20, "max_messages": 10})
    # the round trip the triggerer does: class path + kwargs give the same trigger back
    again = FileArrivalTrigger(**trigger.serialize()[1])
    assert again.serialize() == trigger.serialize()


def _assets(condition):
    objects = getattr(condition, "objects", None)
    if objects is not None:
        for o in objects:
            yield from _assets(o)
    else:
        yield condition


def test_the_dags_serialize_as_the_dag_processor_does(dags):
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id in ("retail__online_sales", "healthcare__partner_lab_results"):
        data = DagSerialization.to_dict(dags[dag_id])
        again = DagSerialization.from_dict(data)
        assert again.dag_id == dag_id
        assert "asset" in str(data["dag"]["timetable"]).lower(), data["dag"]["timetable"]


def test_after_only_two_tables_is_both_assets(config_tree):
    root = config_tree / "tenant_configs"
    path = root / "finance" / "pipelines" / "orders_eur.yaml"
    path.write_text(textwrap.dedent("""\
        schedule:
          after: [fx_rates, finance.customers]
        source: {kind: sql, connection_id: finance__erp, table: orders}
        target: {table: orders_eur, mode: append}
        """))
    from airflow.sdk.definitions.asset import AssetAll

    dag = dag_of(root, "finance", "orders_eur")
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert _keys(condition) == {("finance.fx_rates", "x-iceberg://local/finance/fx_rates"),
                                ("finance.customers", "x-iceberg://local/finance/customers")}
    assert dag_violations(dag, "finance") == []


def test_the_policy_refuses_another_tenants_assets_and_watchers(dags):
    online_sales = dags["retail__online_sales"]
    assert asset_violations(online_sales, "retail") == []
    assert asset_violations(online_sales, "finance") == [
        "task 'register' updates asset 'x-iceberg://local/retail/online_sales', which is not tenant 'finance''s",
        "the DAG is scheduled on asset 'x-iceberg://local/retail/products', which is not tenant 'finance''s"]
    arrivals = dags["healthcare__partner_lab_results"]
    problems = asset_violations(arrivals, "finance")
    assert any("scheduled on asset 'x-file-arrival://healthcare/partner_lab_results'" in p for p in problems)
    assert any("must be tenantflow's FileArrivalTrigger of tenant 'finance'" in p for p in problems)


def test_the_policy_refuses_a_watcher_on_another_tenants_connection(dags):
    dag = dags["healthcare__partner_lab_results"]
    (asset,) = _assets(dag.timetable.asset_condition)
    trigger = asset.watchers[0].trigger
    original = trigger.aws_conn_id
    trigger.aws_conn_id = "aws_default"
    try:
        assert asset_violations(dag, "healthcare") == [
            "asset 'x-file-arrival://healthcare/partner_lab_results' is watched through connection 'aws_default' "
            "of another tenant"]
    finally:
        trigger.aws_conn_id = original


HAND_WRITTEN = '''
"""A hand-written DAG in the tenant entry folder, scheduled on another tenant's table."""
from datetime import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("finance__spy", start_date=datetime(2026, 1, 1), tags=["tenant:finance"],
         schedule=[Asset(name="retail.sales", uri="x-iceberg://local/retail/sales", group="iceberg")]):
    EmptyOperator(task_id="t", pool="tenant_finance")
'''


def test_a_dag_file_scheduled_on_another_tenants_table_is_an_import_error(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    tenants = tmp_path / "tenants"
    tenants.mkdir()
    (tenants / "finance.py").write_text(HAND_WRITTEN)
    errors = DagBag(dag_folder=str(tenants / "finance.py")).import_errors
    (message,) = errors.values()
    assert "scheduled on asset 'x-iceberg://local/retail/sales', which is not tenant 'finance''s" in message


def test_the_dag_doc_names_the_event_schedule(dags):
    assert "`on file arrival (healthcare-lab-arrivals)`" in dags["healthcare__partner_lab_results"].doc_md
    assert "`after products or 45 * * * * UTC`" in dags["retail__online_sales"].doc_md
