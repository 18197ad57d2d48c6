"""The factory's callbacks: a task's final failure and a DAG run's success, as Airflow notifiers."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier


class TenantAlertNotifier(BaseNotifier):
    """Routes ``event`` (failure or success) of the pipeline through the tenant's alerting config."""

    def __init__(self, *, pipeline_ctx: Any, event: str) -> None:
        super().__init__()
        self.pipeline_ctx = pipeline_ctx
        self.event = event

    def notify(self, context: Any) -> None:
        from tenantflow.notifications import events

        if self.event == "failure":
            events.task_failed(self.pipeline_ctx, context)
        else:
            events.run_succeeded(self.pipeline_ctx, context)
