"""Engine 'databricks' against a local Jobs API 2.2 stand-in per tenant workspace (no real workspace).

Each tenant gets its own fake workspace (its own port and token), so routing is visible: a run of a
healthcare pipeline must reach healthcare's workspace only.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from airflow.providers.databricks.triggers.databricks import DatabricksExecutionTrigger

from demo.jobs_api import LocalJobsApi
from tenantflow.config.loader import load_tenant
from tenantflow.operators.databricks import TenantDatabricksRunOperator
from tenantflow.pipeline_context import PipelineContext
from tenantflow.processing import databricks_spec as spec

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "scheduled__2026-11-29T06:00:00+00:00"


class TaskInstanceStub:
    """What the operator uses of ``context['ti']``: xcom_push."""

    def __init__(self) -> None:
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value


def context(run_id: str = RUN_ID) -> dict:
    return {"run_id": run_id, "ti": TaskInstanceStub()}


def pipeline_ctx(tenant: str, pipeline: str) -> PipelineContext:
    bundle = load_tenant(REPO / "tenant_configs", tenant)
    return PipelineContext(bundle.tenant, bundle.pipeline(pipeline), bundle.platform, os.environ["TENANTFLOW_HOME"])


@pytest.fixture
def workspaces(monkeypatch):
    """One fake workspace per tenant; the tenants' `<tenant>__databricks` connections point at them."""
    with LocalJobsApi(step_seconds=0.4) as finance, LocalJobsApi(step_seconds=0.4) as healthcare:
        monkeypatch.setenv("AIRFLOW_CONN_FINANCE__DATABRICKS", finance.connection_uri_json("token-finance"))
        monkeypatch.setenv("AIRFLOW_CONN_HEALTHCARE__DATABRICKS", healthcare.connection_uri_json("token-healthcare"))
        yield {"finance": finance, "healthcare": healthcare}


def operator(tenant: str = "healthcare", pipeline: str = "lab_results") -> TenantDatabricksRunOperator:
    return TenantDatabricksRunOperator(task_id="run_job", pipeline_ctx=pipeline_ctx(tenant, pipeline))


def defer(op: TenantDatabricksRunOperator, ctx: dict | None = None) -> DatabricksExecutionTrigger:
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx or context())
    assert deferred.value.method_name == "execute_complete"
    return deferred.value.trigger


def run_trigger(trigger: DatabricksExecutionTrigger) -> dict:
    async def first_event():
        async for event in trigger.run():
            return event.payload
        raise AssertionError("trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first_event(), timeout=60))


def test_a_healthcare_run_reaches_healthcare_workspace_only(workspaces):
    trigger = defer(operator("healthcare"))
    healthcare, finance = workspaces["healthcare"], workspaces["finance"]
    assert finance.requests == []
    [submit] = {r.body["idempotency_token"]: r for r in healthcare.submits()}.values()
    assert submit.headers["Authorization"] == "Bearer token-healthcare"
    assert trigger.databricks_conn_id == "healthcare__databricks"


def test_finance_pipelines_route_to_finance_workspace(workspaces):
    op = TenantDatabricksRunOperator(task_id="run_job", pipeline_ctx=pipeline_ctx("finance", "orders"))
    defer(op)
    assert workspaces["healthcare"].requests == []
    assert {r.headers["Authorization"] for r in workspaces["finance"].requests} == {"Bearer token-finance"}
    cluster = workspaces["finance"].submits()[0].body["tasks"][0]["new_cluster"]
    assert cluster["node_type_id"] == "m6i.xlarge"
    # the provider sends numbers as strings (normalise_json_content); the Jobs API accepts both
    assert cluster["aws_attributes"] == {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": "1"}
    assert cluster["autoscale"] == {"min_workers": "2", "max_workers": "8"}
    assert cluster["custom_tags"]["cost_center"] == "CC-1200-finance"


def test_cluster_spec_tags_and_token_come_from_tenant_config(workspaces):
    defer(operator())
    body = workspaces["healthcare"].submits()[0].body
    [task] = body["tasks"]
    cluster = task["new_cluster"]
    assert cluster["spark_version"] == "15.4.x-scala2.12"
    assert cluster["instance_pool_id"] == cluster["driver_instance_pool_id"] == "pool-healthcare-r6id"
    assert "node_type_id" not in cluster and "aws_attributes" not in cluster  # the pool fixes both
    assert cluster["autoscale"] == {"min_workers": "1", "max_workers": "4"}
    assert cluster["policy_id"] == "E0631F5C0D0006D1" and cluster["apply_policy_default_values"] is True
    assert cluster["custom_tags"] == {"tenant": "healthcare", "pipeline": "lab_results",
                                      "cost_center": "CC-4410-clinical", "data_classification": "phi",
                                      "dag_id": "healthcare__lab_results"}
    assert body["idempotency_token"] == spec.idempotency_token("healthcare", "lab_results", RUN_ID, 0)
    assert body["timeout_seconds"] == task["timeout_seconds"] == "5400"
    assert body["run_name"] == f"healthcare__lab_results {RUN_ID}"
    assert task["libraries"] == [{"whl": "/Volumes/platform/tenantflow/wheels/tenantflow-0.1.0-py3-none-any.whl"}]
    wheel = task["python_wheel_task"]
    assert (wheel["package_name"], wheel["entry_point"]) == ("tenantflow", "tenantflow-databricks-job")
    params = dict(zip(wheel["parameters"][::2], wheel["parameters"][1::2], strict=True))
    assert params["--run-id"] == RUN_ID
    tenant, pipeline, platform = spec.parse_config(params["--config"])
    assert (tenant.id, pipeline.id, pipeline.engine) == ("healthcare", "lab_results", "databricks")
    assert pipeline.transform is not None and list(platform.catalogs) == ["local"]


def test_idempotency_token_is_stable_per_run_and_distinct_across_runs_and_tenants():
    token = spec.idempotency_token("healthcare", "lab_results", RUN_ID)
    assert token == spec.idempotency_token("healthcare", "lab_results", RUN_ID)
    others = {spec.idempotency_token("healthcare", "lab_results", "manual__x"),
              spec.idempotency_token("finance", "lab_results", RUN_ID),
              spec.idempotency_token("healthcare", "appointments", RUN_ID),
              spec.idempotency_token("healthcare", "lab_results", RUN_ID, 1)}
    assert token not in others and len(others) == 4
    assert len(token) <= 64  # Jobs API limit


def test_a_retry_reattaches_to_the_running_run_instead_of_resubmitting(workspaces):
    api = workspaces["healthcare"]
    api.default_scenario = "hang"
    first = defer(operator())
    second = defer(operator())  # the retry: a new operator instance, same Airflow run id
    assert first.run_id == second.run_id
    assert len(api.runs) == 1, "the retry created a second Databricks run"
    assert len({r.body["idempotency_token"] for r in api.submits()}) == 1


def test_deferrable_path_runs_through_the_trigger_to_success(workspaces):
    trigger = defer(operator())
    assert trigger.polling_period_seconds == 10  # poll_interval_seconds of healthcare's cluster settings
    trigger.polling_period_seconds = 0.2
    event = run_trigger(trigger)
    assert json.loads(event["run_state"])["result_state"] == "SUCCESS"
    op = operator()
    op.execute_complete(ctx := context(), event)  # success: returns without raising
    usage = ctx["ti"].xcoms["tenantflow_usage"]  # what chargeback (`tenantflow usage`) reads
    assert usage["databricks_run_id"] == trigger.run_id and usage["cluster_id"]
    assert usage["nodes"] == 5 and usage["node_type"] == "pool-healthcare-r6id"  # driver + max_workers 4
    assert usage["end_ms"] - usage["start_ms"] >= 400  # at least the stand-in's pending + running steps
    assert usage["node_seconds"] == pytest.approx((usage["end_ms"] - usage["start_ms"]) / 1000 * 5)


def test_trigger_serialization_round_trips(workspaces):
    trigger = defer(operator())
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow.providers.databricks.triggers.databricks.DatabricksExecutionTrigger"
    rebuilt = DatabricksExecutionTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["databricks_conn_id"] == "healthcare__databricks" and kwargs["run_id"] == trigger.run_id


def test_a_failed_run_fails_the_task_with_the_jobs_error(workspaces):
    from airflow.exceptions import AirflowException

    workspaces["healthcare"].default_scenario = "failure"
    trigger = defer(operator())
    trigger.polling_period_seconds = 0.2
    event = run_trigger(trigger)
    assert event["errors"][0]["error"].startswith("ValueError: column 'amount'")
    with pytest.raises(AirflowException, match="cannot be cast to DECIMAL"):
        operator().execute_complete(ctx := context(), event)
    assert ctx["ti"].xcoms["tenantflow_usage"]["node_seconds"] > 0  # a failed run is charged too


def test_an_internal_error_is_retried_with_a_fresh_run(workspaces):
    from airflow.exceptions import AirflowException

    api = workspaces["healthcare"]
    api.scenarios = ["internal_error", "success"]
    trigger = defer(operator())  # try 1
    trigger.polling_period_seconds = 0.2
    event = run_trigger(trigger)
    assert json.loads(event["run_state"])["life_cycle_state"] == "INTERNAL_ERROR"
    with pytest.raises(AirflowException):
        operator().execute_complete(context(), event)
    retry = defer(operator())  # try 2: the failed run is not reused
    retry.polling_period_seconds = 0.2
    assert retry.run_id != trigger.run_id and len(api.runs) == 2
    tokens = [r.payload["idempotency_token"] for r in api.created_runs()]
    assert tokens == [spec.idempotency_token("healthcare", "lab_results", RUN_ID, g) for g in (0, 1)]
    assert json.loads(run_trigger(retry)["run_state"])["result_state"] == "SUCCESS"


def test_killing_the_deferred_task_cancels_the_run(workspaces):
    api = workspaces["healthcare"]
    api.default_scenario = "hang"
    trigger = defer(operator())
    asyncio.run(trigger.on_kill())
    cancels = [r for r in api.requests if r.path.endswith("runs/cancel")]
    assert [r.body for r in cancels] == [{"run_id": trigger.run_id}]
    assert api.get(trigger.run_id)["state"]["result_state"] == "CANCELED"


def test_killing_the_task_before_deferral_cancels_the_run(workspaces):
    api = workspaces["healthcare"]
    api.default_scenario = "hang"
    op = operator()
    defer(op)
    op.on_kill()
    assert api.runs[op.run_id].cancelled


def test_a_tenant_without_cluster_settings_gets_an_actionable_error():
    from tenantflow.operators.databricks import MissingDatabricksCluster

    ctx = pipeline_ctx("retail", "sales")
    with pytest.raises(MissingDatabricksCluster, match=r"tenant_configs/retail/tenant.yaml has no `databricks:`"):
        TenantDatabricksRunOperator(task_id="run_job", pipeline_ctx=ctx)
