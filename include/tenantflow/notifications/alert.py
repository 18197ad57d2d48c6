"""What an alert says: the event, where it happened, counts and links — never row values.

The fields of ``Alert`` are the context of the Jinja templates (README "Alerting and SLAs").
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass(frozen=True)
class Alert:
    event: str  # failure | quality_warning | success | sla_miss | escalation
    tenant: str
    pipeline: str
    dag_id: str
    run_id: str | None = None
    task_id: str | None = None
    severity: str = "info"
    error: str | None = None  # type and message, quoted values blanked
    counts: dict[str, Any] = field(default_factory=dict)  # rows, rules, consecutive failures, ...
    links: dict[str, str] = field(default_factory=dict)  # run: the run's page in the Airflow UI
    details: tuple[str, ...] = ()  # one line per finding (rule names and counts)

    def with_severity(self, severity: str, event: str | None = None) -> Alert:
        values = asdict(self) | {"severity": severity, "event": event or self.event}
        return Alert(**values)

    def context(self) -> dict[str, Any]:
        return asdict(self)


def error_summary(exc: BaseException | None) -> str:
    """The error's type and message with quoted values blanked: an alert leaves the platform."""
    if exc is None:
        return "see the task log"
    return f"{type(exc).__name__}: {_QUOTED.sub(chr(39) + '…' + chr(39), str(exc))}"[:500]


def run_link(dag_id: str, run_id: str | None) -> dict[str, str]:
    """The run's page in the Airflow UI (``[api] base_url``), if the platform set one."""
    from urllib.parse import quote

    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or ""
    if not base or not run_id:
        return {}
    return {"run": f"{base.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id)}"}


def quality_counts(report: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Counts and one line per failed warn rule from a quality summary (``QualityReport.as_dict()``)."""
    failed = [r for r in report.get("rules", []) if not r.get("success") and r.get("severity") == "warn"]
    lines = tuple(
        f"{r['rule']}: {r.get('unexpected_count') or 0} unexpected row(s)"
        + (f" ({r['unexpected_percent']:.2f}%)" if r.get("unexpected_percent") is not None else "")
        for r in failed
    )
    counts = {"rows": report.get("rows", 0), "score": report.get("score"), "failed_warn_rules": len(failed)}
    return counts, lines
