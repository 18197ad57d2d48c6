"""Pipeline SLAs as Airflow deadline alerts; a missed deadline is the alert event ``sla_miss``.

* ``max_duration`` — deadline = the run's queued time + max_duration (``DeadlineReference.DAGRUN_QUEUED_AT``).
* ``fresh_by`` — deadline = the run's logical date (the cron's fire time) + the interval to the next
  ``fresh_by`` in its time zone (``DAGRUN_LOGICAL_DATE``; ``config.alerting.fresh_by_interval``).

The scheduler checks deadlines; a run still unfinished at its deadline queues the callback, which
runs in the **triggerer** (``AsyncCallback``: an importable, top-level coroutine function). The
triggerer calls it with the kwargs given here and a small ``context`` (``dag_run``: the run as the
REST API shows it; ``deadline``: id and time). It reloads the tenant's config to route the alert,
and delivers in a worker thread (the providers' notifiers are sync) so the triggerer's loop runs on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

CALLBACK = "tenantflow.notifications.sla.sla_deadline_missed"


def deadline_alerts(ctx: Any) -> list[Any]:
    """The DAG's ``deadline=`` for the pipeline's ``sla:`` (empty without one)."""
    sla = ctx.pipeline.sla
    if sla is None:
        return []
    from airflow.sdk.definitions.callback import AsyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    from tenantflow.config.alerting import fresh_by_interval
    from tenantflow.config.durations import format_duration

    def alert(reference: Any, interval: Any, what: str) -> Any:
        kwargs = {"tenant_id": ctx.tenant_id, "pipeline_id": ctx.pipeline.id, "sla": what}
        return DeadlineAlert(reference=reference, interval=interval, name=f"sla: {what}",
                             callback=AsyncCallback(CALLBACK, kwargs=kwargs))

    alerts = []
    if sla.max_duration is not None:
        alerts.append(alert(DeadlineReference.DAGRUN_QUEUED_AT, sla.max_duration,
                            f"max_duration {format_duration(sla.max_duration)}"))
    schedule = ctx.pipeline.schedule
    # the config refuses fresh_by on event schedules (their runs have no cron fire time to measure from)
    if sla.fresh_by is not None and schedule is not None and schedule.cron is not None \
            and not schedule.is_event_driven:
        interval = fresh_by_interval(ctx.pipeline.schedule.cron, ctx.pipeline.schedule.timezone, sla)
        alerts.append(alert(DeadlineReference.DAGRUN_LOGICAL_DATE, interval,
                            f"fresh_by {sla.fresh_by:%H:%M} {sla.timezone}"))
    return alerts


async def sla_deadline_missed(tenant_id: str, pipeline_id: str, sla: str, context: dict | None = None) -> dict:
    """Deadline callback (in the triggerer): alert ``sla_miss``. Returns the delivery outcome, never raises."""
    dag_run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    try:
        return await asyncio.to_thread(_alert, tenant_id, pipeline_id, sla, dag_run, deadline)
    except Exception:  # noqa: BLE001 - a failed callback would only be logged by the triggerer anyway
        log.exception("sla_miss alert of %s/%s not sent", tenant_id, pipeline_id)
        return {"*": "failed: see the triggerer log"}


def _alert(tenant_id: str, pipeline_id: str, sla: str, dag_run: dict, deadline: dict) -> dict[str, str]:
    from tenantflow.config.loader import load_tenant
    from tenantflow.notifications.events import sla_missed
    from tenantflow.pipeline_context import PipelineContext
    from tenantflow.settings import get_settings

    settings = get_settings()
    bundle = load_tenant(settings.config_dir, tenant_id, only_pipeline=pipeline_id)
    ctx = PipelineContext(bundle.tenant, bundle.pipeline(pipeline_id), bundle.platform, str(settings.home))
    run_id = dag_run.get("dag_run_id") or dag_run.get("run_id")
    outcome = sla_missed(ctx, run_id, sla, str(deadline.get("deadline_time") or ""), {"dag_run": dag_run})
    log.info("sla_miss of %s run %s (%s): %s", ctx.dag_id, run_id, sla, outcome)
    return outcome
