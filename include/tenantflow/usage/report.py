"""One tenant's usage per UTC day, priced: the rows of `tenantflow usage` and of the monthly report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tenantflow.config.costs import CostModel
from tenantflow.usage.costs import Cost, price
from tenantflow.usage.period import Period
from tenantflow.usage.queries import DatabricksUsage, TaskUsage, databricks_usage, task_usage
from tenantflow.usage.sources import DataUsage

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class StorageUsage:
    """What a tenant's storage shows for a period: landed/loaded per day, and bytes stored now."""

    days: Mapping[date, DataUsage] = field(default_factory=dict)
    stored_bytes: int = 0


@dataclass(frozen=True)
class UsageLine:
    tenant: str
    day: date
    task_runs: int = 0
    run_seconds: float = 0.0
    slot_seconds: float = 0.0
    batches_landed: int = 0
    rows_landed: int = 0
    files_landed: int = 0
    bytes_landed: int = 0
    commits: int = 0
    records_loaded: int = 0
    bytes_loaded: int = 0
    stored_bytes: int = 0  # kept this day (priced as one day of the month)
    databricks_runs: int = 0
    node_seconds: float = 0.0
    cost: Cost = field(default_factory=lambda: Cost("USD"))

    def measures(self) -> dict[str, Any]:
        values = asdict(self)
        values.pop("cost")
        values["day"] = self.day.isoformat()
        return values


MEASURES = [name for name in UsageLine.__dataclass_fields__ if name not in ("tenant", "day", "cost")]


def usage_lines(period: Period, costs: CostModel, *, tasks: Iterable[TaskUsage] = (),
                databricks: Iterable[DatabricksUsage] = (), storage: Mapping[str, StorageUsage] | None = None,
                today: date | None = None) -> list[UsageLine]:
    """Priced lines per tenant and day (pure). Storage is counted for each day of the period up to ``today``."""
    today = today or datetime.now(UTC).date()
    cells: dict[tuple[str, date], dict[str, Any]] = {}

    def cell(tenant: str, day: date) -> dict[str, Any]:
        return cells.setdefault((tenant, day), {})

    for t in tasks:
        cell(t.tenant, t.day).update(task_runs=t.task_runs, run_seconds=t.run_seconds, slot_seconds=t.slot_seconds)
    for d in databricks:
        cell(d.tenant, d.day).update(databricks_runs=d.runs, node_seconds=d.node_seconds)
    for tenant, usage in (storage or {}).items():
        for day, data in usage.days.items():
            cell(tenant, day).update(asdict(data))
        if usage.stored_bytes:
            for day in period.days:
                if day <= today:
                    cell(tenant, day)["stored_bytes"] = usage.stored_bytes
    lines = []
    for (tenant, day), values in sorted(cells.items()):
        cost = price(costs, slot_seconds=values.get("slot_seconds", 0.0),
                     stored_byte_seconds=values.get("stored_bytes", 0) * DAY_SECONDS,
                     bytes_landed=values.get("bytes_landed", 0), node_seconds=values.get("node_seconds", 0.0))
        lines.append(UsageLine(tenant=tenant, day=day, cost=cost, **values))
    return lines


def totals(lines: Iterable[UsageLine], currency: str) -> dict[str, UsageLine]:
    """One line per tenant summing its days (``stored_bytes``: the largest day's, not a sum)."""
    out: dict[str, dict[str, Any]] = {}
    for line in lines:
        acc = out.setdefault(line.tenant, {"cost": Cost(currency), "day": line.day})
        for name in MEASURES:
            value = getattr(line, name)
            acc[name] = max(acc.get(name, 0), value) if name == "stored_bytes" else acc.get(name, 0) + value
        acc["cost"] = acc["cost"] + line.cost
        acc["day"] = min(acc["day"], line.day)
    return {tenant: UsageLine(tenant=tenant, **values) for tenant, values in sorted(out.items())}


def month_to_date(session: Any, tenant_ids: Iterable[str], costs: CostModel, *,
                  today: date | None = None) -> dict[str, Cost]:
    """Compute cost this month so far per tenant (slot-hours and Databricks, i.e. what the metadata DB
    knows; storage and landing need the tenants' storage: `tenantflow usage`). For the Tenants dashboard."""
    today = today or datetime.now(UTC).date()
    wanted = list(tenant_ids)
    period = Period.month_to_date(today)
    lines = usage_lines(period, costs, tasks=task_usage(session, period, wanted),
                        databricks=databricks_usage(session, period, wanted), today=today)
    by_tenant = totals(lines, costs.currency)
    return {t: by_tenant[t].cost if t in by_tenant else Cost(costs.currency) for t in wanted}
