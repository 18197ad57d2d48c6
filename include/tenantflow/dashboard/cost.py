"""Cost this month for the dashboard: the chargeback's month-to-date (slot-hours and Databricks, what the
metadata DB knows), priced by the platform's cost model in ``_platform.yaml``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SOURCE = "month to date: slot-hours + Databricks (storage and landing: `tenantflow usage`)"


def cost_this_month(session: Any, tenant_ids: Iterable[str]) -> dict[str, Any]:
    """``{"amount", "currency", "status", "source", "by_tenant"}`` summed over ``tenant_ids``."""
    from tenantflow.config.loader import load_platform
    from tenantflow.settings import get_settings
    from tenantflow.usage.report import month_to_date

    costs = load_platform(get_settings().config_dir).config.costs
    per_tenant = month_to_date(session, list(tenant_ids), costs)
    return {"amount": round(sum(c.total for c in per_tenant.values()), 2), "currency": costs.currency,
            "status": "ok", "source": SOURCE,
            "by_tenant": {t: round(c.total, 2) for t, c in sorted(per_tenant.items())}}
