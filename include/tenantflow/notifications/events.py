"""The alerting entry points: one function per event, from what the task, DAG or deadline knows.

Each builds the ``Alert`` (counts and names, never row values), routes it and delivers it; each
returns the delivery outcome ``{target: "sent" | "failed: …"}`` and never raises.
"""

from __future__ import annotations

import logging
from typing import Any

from tenantflow.notifications import escalation
from tenantflow.notifications.alert import Alert, error_summary, quality_counts, run_link
from tenantflow.notifications.delivery import deliver
from tenantflow.notifications.routing import route

log = logging.getLogger(__name__)


def _send(alert: Alert, tenant: Any, platform: Any, context: Any) -> dict[str, str]:
    try:
        return deliver(route(alert, tenant.alerting, getattr(platform, "alerting", None)), context)
    except Exception:  # noqa: BLE001 - building or routing an alert must not fail the task either
        log.exception("%s alert of %s could not be prepared", alert.event, alert.dag_id)
        return {"*": "failed: see the log"}


def _base(ctx: Any, event: str, run_id: str | None, context: Any = None, **fields: Any) -> Alert:
    # the DAG of the callback: the maintenance DAG shares its first pipeline's context
    dag_id = getattr((context or {}).get("dag"), "dag_id", None) or ctx.dag_id
    return Alert(event=event, tenant=ctx.tenant_id, pipeline=ctx.pipeline.id, dag_id=dag_id, run_id=run_id,
                 links=run_link(dag_id, run_id), **fields)


def task_failed(ctx: Any, context: Any) -> dict[str, str]:
    """A task failed for good (no retry left): `failure`, and `escalation` after N failed runs in a row."""
    run_id = context.get("run_id")
    ti = context.get("ti") or context.get("task_instance")
    alert = _base(ctx, "failure", run_id, context, task_id=getattr(ti, "task_id", None),
                  error=error_summary(context.get("exception")))
    outcome = {}
    policy = ctx.tenant.alerting.escalation
    if policy is not None:
        try:
            failures = escalation.record_failure(alert.dag_id, run_id)
        except Exception:  # noqa: BLE001 - without the count, the failure alert still goes out
            log.exception("consecutive failures of %s not counted", ctx.dag_id)
            failures = 0
        alert = Alert(**{**alert.context(), "counts": {"consecutive_failures": failures}})
        if escalation.escalates(failures, policy.after_failures):
            escalated = alert.with_severity(alert.severity, event="escalation")
            outcome.update({f"escalation:{k}": v
                            for k, v in _send(escalated, ctx.tenant, ctx.platform, context).items()})
    return {**_send(alert, ctx.tenant, ctx.platform, context), **outcome}


def last_task_succeeded(ctx: Any, context: Any) -> None:
    """The run's last task succeeded: the run did, so the count of failed runs in a row starts again."""
    try:
        escalation.record_success(getattr(context.get("dag"), "dag_id", None) or ctx.dag_id)
    except Exception:  # noqa: BLE001
        log.exception("failure count of %s not reset", ctx.dag_id)


def run_succeeded(ctx: Any, context: Any) -> dict[str, str]:
    dag_run = context.get("dag_run")
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None)
    return _send(_base(ctx, "success", run_id, context), ctx.tenant, ctx.platform, context)


def quality_warned(ctx: Any, run_id: str, report: dict[str, Any], context: Any) -> dict[str, str]:
    counts, lines = quality_counts(report)
    alert = _base(ctx, "quality_warning", run_id, task_id="quality", counts=counts, details=lines)
    return _send(alert, ctx.tenant, ctx.platform, context)


def sla_missed(ctx: Any, run_id: str | None, sla: str, deadline: str | None, context: Any) -> dict[str, str]:
    alert = _base(ctx, "sla_miss", run_id, counts={"sla": sla, "deadline": deadline or "-"})
    return _send(alert, ctx.tenant, ctx.platform, context)

