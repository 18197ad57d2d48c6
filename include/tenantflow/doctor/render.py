"""The doctor's report as text (one line per check, its hint below) or JSON."""

from __future__ import annotations

import json

from tenantflow.doctor.checks import DoctorReport
from tenantflow.doctor.result import Status


def summary(report: DoctorReport) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in Status if report.count(s))
    verdict = "FAILED" if report.failed else "ready"
    return f"tenant {report.tenant_id!r}: {verdict} ({len(report.results)} checks: {counts})"


def text_lines(report: DoctorReport) -> list[str]:
    width = max((len(r.check) for r in report.results), default=0)
    lines = []
    for r in report.results:
        lines.append(f"{r.status:<4}  {r.check:<{width}}  {r.subject}: {r.detail}")
        if r.hint and r.status in (Status.FAIL, Status.WARN):
            lines.append(f"{'':4}  {'':<{width}}  hint: {r.hint}")
    return [*lines, summary(report)]


def as_json(report: DoctorReport) -> str:
    return json.dumps({"tenant": report.tenant_id, "ok": not report.failed,
                       "checks": [r.as_dict() for r in report.results]}, indent=2)
