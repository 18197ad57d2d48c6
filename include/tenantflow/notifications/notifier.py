"""Airflow notifier for a tenant's failure/success events (used as task/DAG callbacks by the factory)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier


class TenantNotifier(BaseNotifier):
    """Sends the event to the tenant's subscribed targets; the targets come from the tenant's config."""

    def __init__(self, *, tenant_id: str, targets: tuple[Any, ...], event: str) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.targets = targets
        self.event = event

    def notify(self, context: Any) -> None:
        from tenantflow.notifications import message
        from tenantflow.notifications.dispatch import deliver

        dag_id = getattr(context.get("dag"), "dag_id", "?")
        run_id = context.get("run_id")
        if self.event == "failure":
            ti = context.get("ti") or context.get("task_instance")
            task_id = getattr(ti, "task_id", "?")
            error = _without_values(context.get("exception"))
            deliver(self.targets, message.task_failure(self.tenant_id, dag_id, run_id, task_id, error))
        else:
            deliver(self.targets, message.run_success(self.tenant_id, dag_id, run_id))


def _without_values(exc: Any) -> str:
    """The error's type and message with quoted values blanked: a notification leaves the platform."""
    import re

    if exc is None:
        return "see the task log"
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(exc))
    return f"{type(exc).__name__}: {text}"
