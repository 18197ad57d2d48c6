"""The factory wires alerting into the DAGs of the example tenants: callbacks only where routed, deadlines per SLA."""

from __future__ import annotations

from tenantflow.config.loader import load_tenant
from tenantflow.factory.dag_builder import build_dag
from tenantflow.notifications.notifier import TenantAlertNotifier
from tenantflow.pipeline_context import PipelineContext


def dag_of(repo, tenant_id, pipeline_id):
    bundle = load_tenant(repo / "tenant_configs", tenant_id)
    return build_dag(PipelineContext(bundle.tenant, bundle.pipeline(pipeline_id), bundle.platform, "/tmp"))


def test_failure_success_and_deadlines_are_wired_where_the_tenant_routes_them(repo):
    orders = dag_of(repo, "finance", "orders")  # failure routed, escalation on, success not routed
    (failure,) = orders.get_task("extract").on_failure_callback
    assert isinstance(failure, TenantAlertNotifier) and failure.event == "failure"
    (reset,) = orders.get_task("register").on_success_callback  # escalation count reset in the task process
    assert reset.event == "last_task_succeeded"
    assert not orders.on_success_callback
    assert not orders.deadline
    rates = dag_of(repo, "finance", "fx_rates")  # an sla
    assert sorted(d.name for d in rates.deadline) == ["sla: fresh_by 09:00 Europe/Berlin", "sla: max_duration 30m"]

    sales = dag_of(repo, "retail", "sales")  # success: info -> team_slack
    (success,) = sales.on_success_callback if isinstance(sales.on_success_callback, list) \
        else [sales.on_success_callback]
    assert success.event == "success"
    assert not sales.get_task("register").on_success_callback  # no escalation configured
    assert not sales.deadline

    labs = dag_of(repo, "healthcare", "lab_results")  # failure only
    assert labs.get_task("extract").on_failure_callback and not labs.on_success_callback
