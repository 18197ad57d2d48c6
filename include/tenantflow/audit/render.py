"""``tenantflow audit`` output: an aligned table, JSON (a list of records) or CSV (details as JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence

from tenantflow.audit.records import AuditRecord

_CSV_FIELDS = ("at", "tenant", "actor", "action", "target", "run_id", "snapshot_id", "details", "event_id")


def _summary(record: AuditRecord, width: int = 70) -> str:
    text = ", ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(record.details.items()))
    return text if len(text) <= width else text[: width - 1] + "…"


def table(records: Sequence[AuditRecord]) -> str:
    if not records:
        return "no audit records in this period\n"
    rows = [("TIME (UTC)", "ACTOR", "ACTION", "TARGET", "RUN", "SNAPSHOT", "DETAILS")]
    rows += [(r.at.strftime("%Y-%m-%d %H:%M:%S"), r.actor, r.action, r.target, r.run_id or "-",
              str(r.snapshot_id) if r.snapshot_id is not None else "-", _summary(r)) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]).rstrip()
             for row in rows]
    return "\n".join(lines) + f"\n{len(records)} record(s)\n"


def json_text(records: Sequence[AuditRecord]) -> str:
    return json.dumps([r.as_dict() for r in records], indent=2) + "\n"


def csv_text(records: Sequence[AuditRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for r in records:
        row = r.as_dict()
        writer.writerow([row["at"], r.tenant, r.actor, r.action, r.target, r.run_id or "",
                         "" if r.snapshot_id is None else r.snapshot_id, r.details_json(), r.event_id])
    return out.getvalue()


FORMATS: dict[str, Callable[[Sequence[AuditRecord]], str]] = {"table": table, "json": json_text, "csv": csv_text}
