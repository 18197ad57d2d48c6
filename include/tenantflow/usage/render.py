"""`tenantflow usage` output: a table of tenant totals, CSV of tenant-day lines, or JSON with both."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from tenantflow.config.costs import GB
from tenantflow.usage.period import Period
from tenantflow.usage.report import MEASURES, UsageLine, totals

COST_FIELDS = ("slots", "storage", "landing", "databricks", "total")


def table(lines: Sequence[UsageLine], period: Period, currency: str) -> str:
    by_tenant = totals(lines, currency)
    header = ("TENANT", "TASK RUNS", "SLOT-H", "ROWS LANDED", "GB LANDED", "ROWS LOADED", "GB STORED",
              "DBX NODE-H", f"COST {currency}")
    rows = [header]
    for t in by_tenant.values():
        rows.append((t.tenant, f"{t.task_runs:,}", f"{t.slot_seconds / 3600:,.2f}", f"{t.rows_landed:,}",
                     f"{t.bytes_landed / GB:,.3f}", f"{t.records_loaded:,}", f"{t.stored_bytes / GB:,.3f}",
                     f"{t.node_seconds / 3600:,.2f}", f"{t.cost.total:,.2f}"))
    grand = sum(t.cost.total for t in by_tenant.values())
    rows.append(("TOTAL", "", "", "", "", "", "", "", f"{grand:,.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = [f"usage {period.first_day} .. {period.last_day} (UTC days)"]
    for row in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
    return "\n".join(out) + "\n"


def csv_text(lines: Sequence[UsageLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tenant", "day", *MEASURES, "currency", *(f"cost_{c}" for c in COST_FIELDS)])
    for line in lines:
        cost = line.cost.as_dict()
        writer.writerow([line.tenant, line.day.isoformat(), *(getattr(line, m) for m in MEASURES),
                         line.cost.currency, *(cost[c] for c in COST_FIELDS)])
    return buffer.getvalue()


def json_document(lines: Sequence[UsageLine], period: Period, currency: str) -> dict:
    by_tenant = totals(lines, currency)
    tenants = []
    for tenant, total in by_tenant.items():
        measures = total.measures()
        measures.pop("day")
        tenants.append({**measures, "cost": total.cost.as_dict(),
                        "days": [{**line.measures(), "cost": line.cost.as_dict()}
                                 for line in lines if line.tenant == tenant]})
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(), "currency": currency,
            "total": round(sum(t.cost.total for t in by_tenant.values()), 6), "tenants": tenants}


def json_text(lines: Sequence[UsageLine], period: Period, currency: str) -> str:
    return json.dumps(json_document(lines, period, currency), indent=2) + "\n"
