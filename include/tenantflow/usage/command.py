"""`tenantflow usage`: measure every tenant's usage in a period from the metadata DB and its storage, price it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from tenantflow.cli_errors import CommandFailed
from tenantflow.config.loader import TenantBundle, load_all, load_platform
from tenantflow.settings import Settings, resolve_local
from tenantflow.usage import render
from tenantflow.usage.period import Period
from tenantflow.usage.report import StorageUsage, UsageLine, usage_lines

log = logging.getLogger(__name__)

FORMATS: dict[str, Callable[[list[UsageLine], Period, str], str]] = {
    "table": render.table,
    "csv": lambda lines, _period, _currency: render.csv_text(lines),
    "json": render.json_text,
}


@dataclass(frozen=True)
class UsageResult:
    output: str
    exit_code: int
    lines: list[UsageLine]


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandFailed(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01", 2) from None


def period_of(first: str | None, last: str | None, today: date) -> Period:
    """--from/--to (both inclusive UTC days); default: the month so far."""
    start = parse_day(first, "--from") if first else today.replace(day=1)
    end = parse_day(last, "--to") if last else max(today, start)
    try:
        return Period(start, end)
    except ValueError as exc:
        raise CommandFailed(f"{exc}: --to must be on or after --from", 2) from None


def storage_usage(bundle: TenantBundle, home: Path, period: Period) -> StorageUsage:
    """Landed batches under the tenant's landing root and its Iceberg tables (one tenant's storage)."""
    from tenantflow.catalog.catalogs import open_tenant_catalog
    from tenantflow.usage.sources import landed_usage, table_usage, tenant_tables

    tenant = bundle.tenant
    landed = landed_usage(resolve_local(tenant.storage.landing, home), period)
    catalog = open_tenant_catalog(tenant, bundle.platform, str(home))
    loaded, stored = table_usage(tenant_tables(catalog, tenant.catalog.namespace), period)
    days = dict(landed)
    for day, data in loaded.items():
        into = days.setdefault(day, data)
        if into is not data:
            into.commits, into.records_loaded, into.bytes_loaded = data.commits, data.records_loaded, data.bytes_loaded
    return StorageUsage(days=days, stored_bytes=stored)


def run_usage(settings: Settings, *, first: str | None = None, last: str | None = None,
              tenant: str | None = None, fmt: str = "table", plot_path: str | None = None,
              today: date | None = None) -> UsageResult:
    from airflow.utils.session import create_session

    from tenantflow.usage.queries import databricks_usage, task_usage

    today = today or datetime.now(UTC).date()
    period = period_of(first, last, today)
    costs = load_platform(settings.config_dir).config.costs
    bundles, failures = load_all(settings.config_dir)
    if tenant is not None and tenant not in bundles and tenant not in failures:
        log.warning("tenant %r has no config in %s: only what the metadata DB recorded is counted", tenant,
                    settings.config_dir)
    wanted = None if tenant is None else [tenant]
    problems: list[str] = [f"{t}: invalid config, its storage is not counted (`tenantflow validate {t}`)"
                           for t in failures if wanted is None or t in wanted]
    storage: dict[str, StorageUsage] = {}
    for tenant_id, bundle in sorted(bundles.items()):
        if wanted is not None and tenant_id not in wanted:
            continue
        try:
            storage[tenant_id] = storage_usage(bundle, settings.home, period)
        except Exception as exc:  # noqa: BLE001 - one tenant's unreachable storage must not hide the others'
            problems.append(f"{tenant_id}: storage not counted: {type(exc).__name__}: {exc}")
    with create_session() as session:
        tasks = task_usage(session, period, wanted)
        databricks = databricks_usage(session, period, wanted)
    lines = usage_lines(period, costs, tasks=tasks, databricks=databricks, storage=storage, today=today)
    for problem in problems:
        log.warning("%s", problem)
    if plot_path:
        from tenantflow.usage.plot import plot

        log.info("wrote %s", plot(lines, period, costs.currency, Path(plot_path)))
    return UsageResult(FORMATS[fmt](lines, period, costs.currency), 1 if problems else 0, lines)
