"""``tenantflow compliance TENANT``: what a compliance review of one tenant needs, gathered in one report.

- every table and PII column with its classification and masking: the table/column properties the PII
  classification writes (``tenantflow.classification``, ``tenantflow.column.<c>.{classification,pii,masking}``),
  next to what the config declares (``pii.columns``, the pipeline's classification);
- retention per pipeline: configured (pipeline, tenant or ``storage.retention_days``) vs the platform's bound
  for its classification, and the effective age (``config/effective.py``);
- the last access review: the tenant's FAB roles and their users from the config's ``access:`` and, where the
  Airflow metadata DB is reachable, the role membership it actually holds;
- the audit events of the period: counts by action and the last N.

Gathering reads only (catalog, config, metadata DB); rendering is ``compliance_render``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tenantflow.audit.command import Window, read_audit
from tenantflow.audit.records import AuditRecord
from tenantflow.config.effective import classification_of, effective_retention, retention_bound, retention_setting
from tenantflow.config.loader import TenantBundle
from tenantflow.config.retention import RETENTION_KINDS
from tenantflow.isolation.access_matrix import ACCESS_FIELDS, TENANT_ROLES, role_name
from tenantflow.settings import Settings

log = logging.getLogger(__name__)

LAST_EVENTS = 20
COLUMN_PREFIX = "tenantflow.column."


@dataclass(frozen=True)
class TableEntry:
    identifier: str
    pipeline: str | None
    classification: str | None
    configured: str  # the pipeline's (or tenant's) classification in the config


@dataclass(frozen=True)
class ColumnEntry:
    table: str
    column: str
    classification: str | None
    pii: str | None
    masking: str | None
    declared: str | None  # the method pii.columns declares, if any


@dataclass(frozen=True)
class RetentionEntry:
    pipeline: str
    kind: str
    configured: str | None  # e.g. "14 days (pipeline retention.raw_batches)"
    bound: str | None
    effective: str | None


@dataclass(frozen=True)
class AccessEntry:
    role: str
    configured: tuple[str, ...]
    actual: tuple[str, ...] | None  # None: the metadata DB was not reachable


@dataclass(frozen=True)
class ComplianceReport:
    tenant_id: str
    display_name: str
    classification: str
    span: Window
    generated_at: dt.datetime
    tables: list[TableEntry]
    columns: list[ColumnEntry]
    retention: list[RetentionEntry]
    access: list[AccessEntry]
    access_source: str
    events: list[AuditRecord]
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.action for r in self.events).items()))


def _age(value: dt.timedelta | None) -> str | None:
    if value is None:
        return None
    days = value.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{value.total_seconds() / 3600:g} hours"


def table_entries(bundle: TenantBundle, catalog: Any) -> tuple[list[TableEntry], list[ColumnEntry]]:
    from pyiceberg.exceptions import NoSuchNamespaceError

    namespace = bundle.tenant.catalog.namespace
    pipelines = {p.target.table: p for p in bundle.pipelines}
    try:
        identifiers = sorted(catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        identifiers = []
    tables, columns = [], []
    for identifier in identifiers:
        table = catalog.load_table(identifier)
        name = ".".join(identifier)
        props = table.properties
        base = name.rsplit(".", 1)[-1].removesuffix("__quarantine")
        pipeline = pipelines.get(base)
        configured = classification_of(bundle.tenant, pipeline).value
        tables.append(TableEntry(name, props.get("tenantflow.pipeline") or (pipeline.id if pipeline else None),
                                 props.get("tenantflow.classification"), configured))
        declared = pipeline.pii.declared_methods() if pipeline is not None and pipeline.pii else {}
        found: dict[str, dict[str, str]] = {}
        for key, value in props.items():
            if key.startswith(COLUMN_PREFIX):
                column, _, what = key[len(COLUMN_PREFIX):].rpartition(".")
                found.setdefault(column, {})[what] = value
        for column in sorted(set(found) | set(declared)):
            seen = found.get(column, {})
            if not (seen.get("pii") or seen.get("masking") or column in declared):
                continue  # a classified column that holds no PII is covered by the table's line
            columns.append(ColumnEntry(name, column, seen.get("classification"), seen.get("pii"),
                                       seen.get("masking"), declared.get(column)))
    return tables, columns


def retention_entries(bundle: TenantBundle) -> list[RetentionEntry]:
    out = []
    for pipeline in sorted(bundle.pipelines, key=lambda p: p.id):
        effective = effective_retention(bundle.platform, bundle.tenant, pipeline)
        classification = classification_of(bundle.tenant, pipeline)
        for kind in RETENTION_KINDS:
            setting = retention_setting(bundle.tenant, pipeline, kind)
            configured = f"{_age(setting.value)} ({setting.level} {setting.field})" if setting else None
            out.append(RetentionEntry(pipeline.id, kind, configured,
                                      _age(retention_bound(bundle.platform, classification, kind)),
                                      _age(getattr(effective, kind))))
    return out


def actual_role_members(role_names: list[str]) -> dict[str, tuple[str, ...]] | None:
    """Role -> usernames the metadata DB holds; None when it cannot be reached (or is not migrated)."""
    try:
        from airflow.utils.session import create_session
        from sqlalchemy import bindparam, text

        query = text("SELECT r.name, u.username FROM ab_role r JOIN ab_user_role ur ON ur.role_id = r.id "
                     "JOIN ab_user u ON u.id = ur.user_id WHERE r.name IN :names").bindparams(
            bindparam("names", expanding=True))
        with create_session() as session:
            rows = session.execute(query, {"names": role_names}).all()
    except Exception as exc:  # noqa: BLE001 - the report still shows the configured access
        log.info("metadata DB not reachable for the access review: %s", exc)
        return None
    members: dict[str, list[str]] = {name: [] for name in role_names}
    for role, user in rows:
        members[role].append(user)
    return {role: tuple(sorted(users)) for role, users in members.items()}


def access_entries(bundle: TenantBundle, *, metadata_db: bool = True) -> tuple[list[AccessEntry], str]:
    tenant = bundle.tenant
    names = [role_name(tenant.id, role) for role in TENANT_ROLES]
    actual = actual_role_members(names) if metadata_db else None
    entries = [AccessEntry(role_name(tenant.id, role),
                           tuple(sorted(getattr(tenant.access, ACCESS_FIELDS[role.key]))),
                           actual.get(role_name(tenant.id, role), ()) if actual is not None else None)
               for role in TENANT_ROLES]
    source = "config `access:` and the metadata DB's role membership" if actual is not None else \
        "config `access:` only (the Airflow metadata DB was not reachable)"
    return entries, source


def build_report(settings: Settings, bundle: TenantBundle, span: Window, *, metadata_db: bool = True,
                 now: dt.datetime | None = None) -> ComplianceReport:
    from tenantflow.catalog.catalogs import open_tenant_catalog

    catalog = open_tenant_catalog(bundle.tenant, bundle.platform, str(settings.home))
    tables, columns = table_entries(bundle, catalog)
    access, source = access_entries(bundle, metadata_db=metadata_db)
    notes = []
    if not tables:
        notes.append(f"no tables in {bundle.tenant.catalog.name}:{bundle.tenant.catalog.namespace} yet")
    try:
        events = read_audit(settings, bundle.tenant.id, span)
    except Exception as exc:  # noqa: BLE001 - the rest of the report stands; the gap is stated
        events = []
        notes.append(f"audit trail not readable: {exc}")
    return ComplianceReport(bundle.tenant.id, bundle.tenant.display_name, bundle.tenant.classification.value, span,
                            now or dt.datetime.now(dt.UTC), tables, columns, retention_entries(bundle), access,
                            source, events, notes)
