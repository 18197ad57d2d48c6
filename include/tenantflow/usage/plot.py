"""`tenantflow usage --plot FILE.png`: cost by tenant (stacked by resource) and by day (stacked by tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tenantflow.usage.period import Period
from tenantflow.usage.report import UsageLine, totals

TOP_TENANTS = 15  # more tenants than that: the rest are drawn as one "others"
COMPONENTS = ("slots", "storage", "landing", "databricks")


def plot(lines: Sequence[UsageLine], period: Period, currency: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib import pyplot as plt

    by_tenant = sorted(totals(lines, currency).values(), key=lambda t: t.cost.total, reverse=True)
    top = [t.tenant for t in by_tenant[:TOP_TENANTS]]
    others = len(by_tenant) > TOP_TENANTS

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5), layout="constrained")
    names = top + (["others"] if others else [])
    bottoms = [0.0] * len(names)
    for component in COMPONENTS:
        values = [getattr(t.cost, component) for t in by_tenant[:TOP_TENANTS]]
        if others:
            values.append(sum(getattr(t.cost, component) for t in by_tenant[TOP_TENANTS:]))
        left.bar(range(len(names)), values, bottom=bottoms, label=component)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    left.set_xticks(range(len(names)), names)  # positions, not category strings: no matplotlib guessing
    left.set_title(f"cost by tenant, {period.first_day} .. {period.last_day}")
    left.set_ylabel(currency)
    left.tick_params(axis="x", rotation=45)
    left.legend()

    days = period.days
    stack = [0.0] * len(days)
    index = {day: i for i, day in enumerate(days)}
    for name in names:
        values = [0.0] * len(days)
        for line in lines:
            if (line.tenant == name or (name == "others" and line.tenant not in top)) and line.day in index:
                values[index[line.day]] += line.cost.total
        right.bar(range(len(days)), values, bottom=stack, label=name)
        stack = [s + v for s, v in zip(stack, values, strict=True)]
    right.set_xticks(range(len(days)), [d.isoformat() for d in days])
    right.set_title("cost by day")
    right.set_ylabel(currency)
    right.tick_params(axis="x", rotation=60)
    right.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
