"""Subject and text of an alert: the tenant's Jinja templates (sandboxed) or the defaults below.

Context: the fields of ``Alert`` (event, tenant, pipeline, dag_id, run_id, task_id, severity, error,
counts, links, details). Tenants write these templates, so they render in Jinja's sandbox: no
attribute access to Python internals, no imports, and a missing variable renders empty.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantflow.notifications.alert import Alert

log = logging.getLogger(__name__)

DEFAULT_SUBJECTS: dict[str, str] = {
    "failure": "{{ dag_id }}: task {{ task_id }} failed",
    "quality_warning": "{{ dag_id }}: {{ counts.failed_warn_rules }} quality warning(s) on {{ counts.rows }} rows",
    "success": "{{ dag_id }}: run succeeded",
    "sla_miss": "{{ dag_id }}: SLA missed ({{ counts.sla }})",
    "escalation": "{{ dag_id }}: {{ counts.consecutive_failures }} failed runs in a row (tenant {{ tenant }})",
}
DEFAULT_BODY = """{{ subject }}
Tenant: {{ tenant }}  Pipeline: {{ pipeline }}  Severity: {{ severity }}
DAG: {{ dag_id }}  Run: {{ run_id or '-' }}{% if task_id %}  Task: {{ task_id }}{% endif %}
{% if error %}Error: {{ error }}
{% endif %}{% for line in details %}- {{ line }}
{% endfor %}{% for name, value in counts.items() %}{{ name }}: {{ value }}
{% endfor %}{% for name, url in links.items() %}{{ name }}: {{ url }}
{% endfor %}"""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def render(alert: Alert, templates: Mapping[str, Any]) -> Rendered:
    """Render the event's templates (``config.alerting.Template`` or None each) for ``alert``."""
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
    own = templates.get(alert.event)
    context = alert.context()

    def text_of(source: str | None, default: str, values: dict[str, Any]) -> str:
        if source:
            try:
                return env.from_string(source).render(values)
            except Exception as exc:  # noqa: BLE001 - a broken tenant template must not swallow the alert
                log.warning("%s template of tenant %s failed (%s: %s); the default is used", alert.event,
                            alert.tenant, type(exc).__name__, exc)
        return env.from_string(default).render(values)

    subject = " ".join(text_of(own and own.subject, DEFAULT_SUBJECTS[alert.event], context).split())[:250]
    text = text_of(own and own.body, DEFAULT_BODY, {**context, "subject": subject}).strip()
    return Rendered(f"[{alert.severity}][{alert.tenant}] {subject}", text)
