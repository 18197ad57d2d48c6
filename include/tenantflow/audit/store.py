"""The audit table of a tenant: ``tenantflow_audit.<tenant>``, owned and written by the platform.

Where: the tenant's catalog, in the namespace ``tenantflow_audit`` that no tenant owns (the tenant's
``IcebergHook`` refuses it), under the platform's location — the catalog's warehouse with ``{tenant}``
replaced by ``_platform`` — and always with the platform's cloud identity (``identity.acting_for(None)``),
so a tenant's credentials, which reach only its own warehouse, cannot rewrite or delete it.

Append-only: this module only appends; nothing in tenantflow updates or deletes audit rows. Snapshot expiry
may drop old snapshots of the table; it never rewrites rows.

Robust: an append is retried (3 attempts), then ``AuditWriteFailed`` is raised and the operation fails
loudly. A retried operation writes its records again: records whose ``event_id`` is already in the table
are skipped, and readers keep one row per ``event_id`` as well.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tenantflow import identity
from tenantflow.audit.records import AUDIT_NAMESPACE, PLATFORM_LOCATION, AuditRecord, audit_identifier
from tenantflow.config.models import PlatformConfig, TenantConfig

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = (0.5, 2.0)
TABLE_PROPERTIES = {
    "tenantflow.audit": "append-only",
    "tenantflow.owner": "platform",
    "comment": "tenantflow audit trail: append-only, written by the platform only",
}
COLUMNS = ("event_id", "tenant", "at", "actor", "action", "target", "run_id", "snapshot_id", "details")


class AuditWriteFailed(RuntimeError):
    """The audit records could not be written: the operation they describe must fail, not go unrecorded."""


def arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field("event_id", pa.string(), nullable=False), pa.field("tenant", pa.string(), nullable=False),
        pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("actor", pa.string(), nullable=False), pa.field("action", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=False), pa.field("run_id", pa.string()),
        pa.field("snapshot_id", pa.int64()), pa.field("details", pa.string(), nullable=False),
    ])


def open_platform_catalog(name: str, platform: PlatformConfig, home: str) -> Catalog:
    """Catalog ``name`` (the tenant's), opened by the platform on the platform's location."""
    from tenantflow.catalog.catalogs import open_catalog

    if name not in platform.catalogs:
        raise LookupError(f"catalog {name!r} is not in _platform.yaml `catalogs` (known: "
                          f"{', '.join(sorted(platform.catalogs))}): cannot reach its audit tables")
    with identity.acting_for(None):
        return open_catalog(name, platform.catalogs[name], home, tenant_id=PLATFORM_LOCATION)


class AuditStore:
    """Append and read one tenant's audit records."""

    def __init__(self, catalog: Catalog, tenant_id: str) -> None:
        self.catalog = catalog
        self.tenant_id = tenant_id
        self.identifier = audit_identifier(tenant_id)

    @classmethod
    def for_tenant(cls, tenant: TenantConfig, platform: PlatformConfig, home: str) -> AuditStore:
        return cls(open_platform_catalog(tenant.catalog.name, platform, home), tenant.id)

    @classmethod
    def in_catalog(cls, catalog_name: str, tenant_id: str, platform: PlatformConfig, home: str) -> AuditStore:
        """A tenant whose config may be gone (retired, purged): its catalog as the reconcile recorded it."""
        return cls(open_platform_catalog(catalog_name, platform, home), tenant_id)

    def table(self, *, create: bool = False) -> Table | None:
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchNamespaceError, NoSuchTableError

        try:
            return self.catalog.load_table(self.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            if not create:
                return None
        try:
            self.catalog.create_namespace(AUDIT_NAMESPACE, {"tenantflow.owner": "platform"})
        except NamespaceAlreadyExistsError:
            pass
        return self.catalog.create_table_if_not_exists(self.identifier, schema=arrow_schema(),
                                                       properties=TABLE_PROPERTIES)

    def append(self, records: Sequence[AuditRecord]) -> int:
        """Append the records not yet in the table (by ``event_id``); retried, then ``AuditWriteFailed``."""
        wrong = sorted({r.tenant for r in records} - {self.tenant_id})
        if wrong:
            raise ValueError(f"audit records of tenant(s) {wrong} do not belong in {self.identifier}")
        if not records:
            return 0
        last: Exception | None = None
        for attempt in range(ATTEMPTS):
            try:
                with identity.acting_for(None):
                    return self._append_new(records)
            except Exception as exc:  # noqa: BLE001 - a commit conflict, the catalog or storage: retry, then fail
                last = exc
                log.warning("audit write to %s failed (attempt %d of %d): %s", self.identifier, attempt + 1,
                            ATTEMPTS, exc)
                if attempt < ATTEMPTS - 1:
                    time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
        raise AuditWriteFailed(f"could not write {len(records)} audit record(s) of tenant {self.tenant_id!r} to "
                               f"{self.identifier} after {ATTEMPTS} attempts: {last}") from last

    def _append_new(self, records: Sequence[AuditRecord]) -> int:
        table = self.table(create=True)
        unique = {r.event_id: r for r in records}
        present = self._present(table, list(unique))
        new = [r for event_id, r in unique.items() if event_id not in present]
        if new:
            table.append(to_arrow(new))
            log.info("audit: %d record(s) appended to %s (%d already there)", len(new), self.identifier,
                     len(unique) - len(new))
        return len(new)

    @staticmethod
    def _present(table: Table, event_ids: list[str]) -> set[str]:
        from pyiceberg.expressions import In

        if table.current_snapshot() is None:
            return set()
        found = table.scan(row_filter=In("event_id", event_ids), selected_fields=("event_id",)).to_arrow()
        return set(found["event_id"].to_pylist())

    def read(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
             action: str | None = None) -> list[AuditRecord]:
        """Records with ``since <= at < until`` (and of ``action``, or ``sync.*`` for every sync action), oldest
        first, one per event."""
        from pyiceberg.expressions import AlwaysTrue, And, EqualTo, GreaterThanOrEqual, LessThan

        with identity.acting_for(None):
            table = self.table()
            if table is None or table.current_snapshot() is None:
                return []
            condition: Any = AlwaysTrue()
            if since is not None:
                condition = And(condition, GreaterThanOrEqual("at", since.astimezone(dt.UTC).isoformat()))
            if until is not None:
                condition = And(condition, LessThan("at", until.astimezone(dt.UTC).isoformat()))
            if action and not action.endswith("*"):
                condition = And(condition, EqualTo("action", action))
            rows = table.scan(row_filter=condition).to_arrow().to_pylist()
        records: dict[str, AuditRecord] = {}
        for row in sorted(rows, key=lambda r: r["at"]):
            if action and action.endswith("*") and not row["action"].startswith(action[:-1]):
                continue
            records.setdefault(row["event_id"], from_row(row))
        return list(records.values())


def to_arrow(records: Iterable[AuditRecord]) -> pa.Table:
    import pyarrow as pa

    rows = [{"event_id": r.event_id, "tenant": r.tenant, "at": r.at, "actor": r.actor, "action": r.action,
             "target": r.target, "run_id": r.run_id, "snapshot_id": r.snapshot_id, "details": r.details_json()}
            for r in records]
    return pa.Table.from_pylist(rows, schema=arrow_schema())


def from_row(row: dict[str, Any]) -> AuditRecord:
    at = row["at"]
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return AuditRecord(tenant=row["tenant"], at=at, actor=row["actor"], action=row["action"], target=row["target"],
                       run_id=row["run_id"], snapshot_id=row["snapshot_id"], details=json.loads(row["details"]))
