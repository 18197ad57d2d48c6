"""The monthly usage report: each tenant's month, priced, written into the tenant's own landing root.

``<landing>/_usage/<YYYY-MM>.json`` (totals, cost and the days, as `tenantflow usage --format json`)
and ``<YYYY-MM>.csv`` (one line per day). Task usage comes from the REST API (``api_source``), since
task code has no metadata-DB access; landing and Iceberg usage from the tenant's storage, as the CLI.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from tenantflow.usage.period import Period

log = logging.getLogger(__name__)
REPORT_DIR = "_usage"


def reported_month(moment: date | datetime, month: str | None = None) -> Period:
    """The month a run reports: ``month`` ('YYYY-MM') if given, else the month before ``moment``'s."""
    if month:
        try:
            year, number = (int(part) for part in month.split("-"))
            return Period.month(year, number)
        except ValueError:
            raise ValueError(f"month {month!r} must be YYYY-MM, e.g. 2026-11") from None
    day = moment.date() if isinstance(moment, datetime) else moment
    previous = day.replace(day=1) - timedelta(days=1)
    return Period.month(previous.year, previous.month)


def report_paths(landing: str, period: Period) -> tuple[str, str]:
    from tenantflow.landing.storage import join

    name = f"{period.first_day:%Y-%m}"
    return join(landing, REPORT_DIR, f"{name}.json"), join(landing, REPORT_DIR, f"{name}.csv")


def write_reports(period: Period, *, api_conn_id: str = "tenantflow_api") -> dict[str, list[str]]:
    """Write every valid tenant's report for ``period``; returns tenant -> files written."""
    from tenantflow.config.loader import load_all, load_platform
    from tenantflow.landing.storage import make_dirs, write_bytes
    from tenantflow.settings import get_settings, resolve_local
    from tenantflow.usage import render
    from tenantflow.usage.api_source import AirflowApiHook, databricks_usage_from_api, task_usage_from_api
    from tenantflow.usage.command import storage_usage
    from tenantflow.usage.report import usage_lines

    settings = get_settings()
    costs = load_platform(settings.config_dir).config.costs
    bundles, failures = load_all(settings.config_dir)
    for tenant_id in failures:
        log.warning("tenant %s has an invalid config: no usage report written (`tenantflow validate %s`)",
                    tenant_id, tenant_id)
    hook = AirflowApiHook(api_conn_id)
    written: dict[str, list[str]] = {}
    for n, (tenant_id, bundle) in enumerate(sorted(bundles.items()), start=1):
        lines = usage_lines(period, costs, tasks=task_usage_from_api(hook, period, tenant_id),
                            databricks=databricks_usage_from_api(hook, period, tenant_id),
                            storage={tenant_id: storage_usage(bundle, settings.home, period)})
        landing = resolve_local(bundle.tenant.storage.landing, settings.home)
        json_path, csv_path = report_paths(landing, period)
        document: dict[str, Any] = render.json_document(lines, period, costs.currency)
        document["tenant"] = tenant_id
        make_dirs(json_path.rsplit("/", 1)[0])
        kms = bundle.tenant.storage.kms_key_id
        write_bytes(json_path, (json.dumps(document, indent=2) + "\n").encode(), kms)
        write_bytes(csv_path, render.csv_text(lines).encode(), kms)
        written[tenant_id] = [json_path, csv_path]
        log.info("usage report %s of %s: %.2f %s (%d/%d tenants)", f"{period.first_day:%Y-%m}", tenant_id,
                 document["total"], costs.currency, n, len(bundles))
    return written
