"""``tenantflow audit TENANT [--from DATE] [--to DATE] [--action A] [--format table|json|csv]``.

The tenant's catalog comes from its config; for a tenant whose config is gone (retired or purged: its trail
outlives it) every catalog of ``_platform.yaml`` is searched for ``tenantflow_audit.<tenant>``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tenantflow.audit.records import AuditRecord, audit_identifier
from tenantflow.audit.store import AuditStore
from tenantflow.cli_errors import CommandFailed
from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import load_platform, load_tenant
from tenantflow.settings import Settings


@dataclass(frozen=True)
class Window:
    """Whole UTC days, both inclusive; None = unbounded."""

    first: dt.date | None = None
    last: dt.date | None = None

    @property
    def since(self) -> dt.datetime | None:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=dt.UTC) if self.first else None

    @property
    def until(self) -> dt.datetime | None:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if self.last else None

    def describe(self) -> str:
        return f"{self.first or 'the beginning'} .. {self.last or 'now'} (UTC days)"


def parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandFailed(f"{option} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01", 2) from None


def window(first: str | None, last: str | None) -> Window:
    span = Window(parse_day(first, "--from"), parse_day(last, "--to"))
    if span.first and span.last and span.last < span.first:
        raise CommandFailed(f"--to {span.last} is before --from {span.first}", 2)
    return span


def open_store(settings: Settings, tenant_id: str) -> AuditStore:
    """The tenant's audit store (also for a tenant whose config is gone)."""
    home = str(settings.home)
    try:
        bundle = load_tenant(settings.config_dir, tenant_id)
    except FileNotFoundError:
        bundle = None
    except ConfigErrors:  # an invalid config still names its catalog? not reliably: search the catalogs
        bundle = None
    if bundle is not None:
        return AuditStore.for_tenant(bundle.tenant, bundle.platform, home)
    platform = load_platform(settings.config_dir).config
    for name in sorted(platform.catalogs):
        store = AuditStore.in_catalog(name, tenant_id, platform, home)
        if store.table() is not None:
            return store
    raise CommandFailed(f"no tenant {tenant_id!r} in {settings.config_dir} and no {audit_identifier(tenant_id)} "
                        f"in any catalog of _platform.yaml ({', '.join(sorted(platform.catalogs))})")


def read_audit(settings: Settings, tenant_id: str, span: Window, action: str | None = None) -> list[AuditRecord]:
    return open_store(settings, tenant_id).read(since=span.since, until=span.until, action=action)


def run_audit(settings: Settings, tenant_id: str, *, first: str | None, last: str | None, action: str | None,
              fmt: str) -> str:
    from tenantflow.audit.render import FORMATS

    return FORMATS[fmt](read_audit(settings, tenant_id, window(first, last), action))
