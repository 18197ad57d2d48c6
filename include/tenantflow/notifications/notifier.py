"""The factory's callbacks: a task's final failure and a DAG run's success, as Airflow notifiers."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier


class TenantAlertNotifier(BaseNotifier):
    """Routes ``event`` (failure or success) of the pipeline through the tenant's alerting config.

    ``event="last_task_succeeded"`` (the last task's own success callback, in the task process) resets
    the escalation count: DAG callbacks run outside a task, where `airflow dags test` has no Variables.
    """

    def __init__(self, *, pipeline_ctx: Any, event: str) -> None:
        super().__init__()
        self.pipeline_ctx = pipeline_ctx
        self.event = event

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # Nothing to render here (no template_fields; alert texts render in tenantflow's sandbox). Skipping it
        # also avoids Airflow 3.3's `dags test`, whose DAG callbacks get a SerializedDAG without
        # get_template_env (AttributeError before notify() ran).
        return None

    def notify(self, context: Any) -> None:
        from tenantflow.notifications import events

        if self.event == "failure":
            events.task_failed(self.pipeline_ctx, context)
        elif self.event == "last_task_succeeded":
            events.last_task_succeeded(self.pipeline_ctx, context)
        else:
            events.run_succeeded(self.pipeline_ctx, context)
