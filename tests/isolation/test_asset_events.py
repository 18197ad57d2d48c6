"""Run-time refusal: a run started by an asset event that is not the tenant's own does no work.

Checked by every stage task's ``pre_execute`` (``PipelineStageOperator``), before ``execute``: the run fails
without retry, naming the event. The config and the cluster policy keep other tenants' Assets out of a DAG's
schedule; this guard covers events made on the DAG's own Assets by someone else (another tenant's DAG
declaring the outlet, a REST API post).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tenantflow.config import load_tenant
from tenantflow.isolation.asset_events import TriggeringEvent, refused_events, require_own_asset_events
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.operators.extract import ExtractOperator
from tenantflow.pipeline_context import PipelineContext

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = ("retail.products", "x-iceberg://local/retail/products")
ARRIVAL = ("healthcare__partner_lab_results__file_arrival", "x-file-arrival://healthcare/partner_lab_results")


def ctx(tenant: str, pipeline: str) -> PipelineContext:
    bundle = load_tenant(REPO / "tenant_configs", tenant)
    return PipelineContext(bundle.tenant, bundle.pipeline(pipeline), bundle.platform, "/tmp/home")


def event(asset: tuple[str, str], source_dag_id: str | None = None, **extra) -> TriggeringEvent:
    return TriggeringEvent(asset[0], asset[1], extra, source_dag_id)


class Accessor(dict):
    """The shape of ``context['triggering_asset_events']``: asset -> its events."""


def context_of(*events: TriggeringEvent) -> dict:
    from types import SimpleNamespace

    refs = Accessor()
    for i, e in enumerate(events):
        refs[(e.asset_name, e.asset_uri, i)] = [SimpleNamespace(
            asset=SimpleNamespace(name=e.asset_name, uri=e.asset_uri), extra=e.extra,
            source_dag_id=e.source_dag_id, timestamp=i)]
    return {"triggering_asset_events": refs, "run_id": "asset_triggered__1"}


def test_the_upstream_load_of_the_same_tenant_is_accepted():
    online_sales = ctx("retail", "online_sales")
    assert list(refused_events(online_sales, [event(PRODUCTS, "retail__products")])) == []


def test_another_tenants_dag_updating_the_asset_is_refused():
    (why,) = refused_events(ctx("retail", "online_sales"), [event(PRODUCTS, "finance__orders")])
    assert why == ("asset event of 'x-iceberg://local/retail/products': made by DAG 'finance__orders', "
                   "not by a DAG of tenant 'retail'")


def test_an_event_posted_through_the_rest_api_is_refused():
    (why,) = refused_events(ctx("retail", "online_sales"), [event(PRODUCTS, None, from_rest_api=True)])
    assert "made by no DAG (REST API)" in why


def test_an_event_of_an_asset_the_dag_is_not_scheduled_on_is_refused():
    sales = ("retail.sales", "x-iceberg://local/retail/sales")
    (why,) = refused_events(ctx("retail", "online_sales"), [event(sales, "retail__sales")])
    assert "is not scheduled on this asset" in why


def test_file_arrival_events_must_come_from_the_watcher():
    lab = ctx("healthcare", "partner_lab_results")
    assert list(refused_events(lab, [event(ARRIVAL, from_trigger=True, payload={})])) == []
    (forged,) = refused_events(lab, [event(ARRIVAL, from_trigger=True, from_rest_api=True)])
    assert "not made by the pipeline's file-arrival watcher" in forged
    (foreign,) = refused_events(lab, [event(("x", "x-file-arrival://retail/sales"), from_trigger=True)])
    assert "not scheduled on this asset" in foreign


def test_one_bad_event_refuses_the_run():
    online_sales = ctx("retail", "online_sales")
    good, bad = event(PRODUCTS, "retail__products"), event(PRODUCTS, "finance__orders")
    with pytest.raises(TenantIsolationError, match="run of 'retail__online_sales' refused"):
        require_own_asset_events(online_sales, context_of(good, bad))
    assert len(require_own_asset_events(online_sales, context_of(good))) == 1
    assert require_own_asset_events(online_sales, {"run_id": "manual__1"}) == []  # cron / manual runs


def test_the_stage_task_fails_before_any_work():
    operator = ExtractOperator(task_id="extract", pipeline_ctx=ctx("retail", "online_sales"))
    with pytest.raises(AirflowFailException, match="made by DAG 'finance__orders'"):
        operator.pre_execute(context_of(event(PRODUCTS, "finance__orders")))
    operator.pre_execute(context_of(event(PRODUCTS, "retail__products")))  # the tenant's own: no error
