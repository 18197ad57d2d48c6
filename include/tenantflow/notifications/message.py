"""What a notification says: the event, where it happened and counts — never row values."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Event = Literal["failure", "quality_warning", "success"]


@dataclass(frozen=True)
class Message:
    event: Event
    tenant: str
    dag_id: str
    run_id: str | None
    title: str
    lines: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)  # counts and names only

    @property
    def subject(self) -> str:
        return f"[tenantflow][{self.tenant}] {self.title}"

    @property
    def text(self) -> str:
        head = f"{self.title}\nDAG: {self.dag_id}\nRun: {self.run_id or '-'}"
        return "\n".join([head, *self.lines])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality_warning(tenant: str, dag_id: str, run_id: str, report: dict[str, Any]) -> Message:
    """From a quality summary (``QualityReport.as_dict()``): the failed warn rules with their counts."""
    failed = [r for r in report.get("rules", []) if not r.get("success") and r.get("severity") == "warn"]
    lines = tuple(
        f"- {r['rule']}: {r.get('unexpected_count') or 0} unexpected row(s)"
        + (f" ({r['unexpected_percent']:.2f}%)" if r.get("unexpected_percent") is not None else "")
        for r in failed
    )
    return Message(
        "quality_warning", tenant, dag_id, run_id,
        title=f"{dag_id}: {len(failed)} quality warning(s) on {report.get('rows', 0)} rows (loaded)",
        lines=lines,
        details={"rows": report.get("rows", 0), "score": report.get("score"), "failed_warn": len(failed)},
    )


def task_failure(tenant: str, dag_id: str, run_id: str | None, task_id: str, error: str) -> Message:
    return Message("failure", tenant, dag_id, run_id, title=f"{dag_id}: task {task_id} failed",
                   lines=(f"Error: {error[:500]}",), details={"task_id": task_id})


def run_success(tenant: str, dag_id: str, run_id: str | None) -> Message:
    return Message("success", tenant, dag_id, run_id, title=f"{dag_id}: run succeeded")
