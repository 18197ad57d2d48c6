"""``tenantflow offboard --purge TENANT --confirm TENANT``: delete what a retired tenant left behind.

Only a tenant whose config is gone and whose retirement the reconcile recorded can be purged. Deleted: its
Iceberg tables (data and metadata files), its namespace, its landing zone, its DAGs' metadata (runs, task
instances); then its record. Every step is written to Airflow's audit log, the whole purge as one entry, and
to the tenant's audit trail (``tenantflow_audit.<tenant>``, kept after the purge).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tenantflow.config.loader import load_platform
from tenantflow.reconcile.records import TenantRecord
from tenantflow.settings import Settings

log = logging.getLogger(__name__)


class PurgeRefused(ValueError):
    """The purge was not confirmed, or the tenant is not retired."""


@dataclass(frozen=True)
class PurgeReport:
    tenant_id: str
    tables: tuple[str, ...]
    namespace: str
    landing: str
    dags: tuple[str, ...]

    def lines(self) -> list[str]:
        return [
            *(f"- dropped table {t} (data and metadata files)" for t in self.tables),
            f"- dropped namespace {self.namespace}",
            f"- deleted landing zone {self.landing}",
            *(f"- deleted DAG {d} (runs, task instances, logs index)" for d in self.dags),
            f"purged tenant {self.tenant_id} (audit log: tenantflow.tenant.purged; audit trail: "
            f"tenantflow_audit.{self.tenant_id})",
        ]


def check_purge(settings: Settings, tenant_id: str, confirm: str | None, records: dict[str, TenantRecord]
                ) -> TenantRecord:
    if confirm != tenant_id:
        raise PurgeRefused(f"refusing to purge {tenant_id!r}: repeat the tenant id as --confirm {tenant_id} "
                           "(the purge deletes its tables and landing zone and cannot be undone)")
    if (settings.config_dir / tenant_id).exists():
        raise PurgeRefused(f"tenant {tenant_id!r} still has a config folder {settings.config_dir / tenant_id}: "
                           "remove it (and merge that) first, so the reconcile retires the tenant")
    record = records.get(tenant_id)
    if record is None:
        known = ", ".join(sorted(t for t, r in records.items() if r.retired_at)) or "none"
        raise PurgeRefused(f"no retired tenant {tenant_id!r} on record (retired tenants: {known})")
    if record.retired_at is None:
        raise PurgeRefused(f"tenant {tenant_id!r} is not retired yet: wait for the reconcile (or run "
                           "`tenantflow sync --prune`) after removing its folder")
    return record


def purge(settings: Settings, tenant_id: str, confirm: str | None, *, operator: str) -> PurgeReport:
    from airflow.utils.session import create_session

    from tenantflow.reconcile.lock import reconcile_lock
    from tenantflow.reconcile.offboarding import AUDIT_PURGED, audit
    from tenantflow.reconcile.records import delete_record, read_records

    with reconcile_lock(), create_session() as session:
        record = check_purge(settings, tenant_id, confirm, read_records(session))
        tables = _drop_catalog(settings, record)
        _delete_landing(record)
        dags = _delete_dags(session, tenant_id)
        delete_record(session, tenant_id)
        report = PurgeReport(tenant_id, tables, f"{record.catalog}:{record.namespace}", record.landing, dags)
        audit(session, AUDIT_PURGED, {"tenant": tenant_id, "tables": list(tables), "namespace": report.namespace,
                                      "landing": record.landing, "dags": list(dags)}, owner=operator)
    _audit_trail(settings, record, report, operator)
    return report


def _audit_trail(settings: Settings, record: TenantRecord, report: PurgeReport, operator: str) -> None:
    """The purge in the tenant's audit trail, which outlives the purge (it is the platform's, in
    ``tenantflow_audit``): written after the deletions, retried, else ``AuditWriteFailed`` (exit 1)."""
    from tenantflow.audit.events import purge_record
    from tenantflow.audit.store import AuditStore

    platform = load_platform(settings.config_dir).config
    store = AuditStore.in_catalog(record.catalog, record.tenant_id, platform, str(settings.home))
    store.append([purge_record(record.tenant_id, actor=operator, tables=report.tables, namespace=report.namespace,
                               landing=record.landing, dags=report.dags)])


def _drop_catalog(settings: Settings, record: TenantRecord) -> tuple[str, ...]:
    from pyiceberg.exceptions import NoSuchNamespaceError

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.landing.storage import remove_dir

    platform = load_platform(settings.config_dir).config
    if record.catalog not in platform.catalogs:
        raise PurgeRefused(f"catalog {record.catalog!r} of tenant {record.tenant_id!r} is no longer in "
                           f"{settings.config_dir / '_platform.yaml'}: add it back to purge its tables")
    catalog = open_catalog(record.catalog, platform.catalogs[record.catalog], str(settings.home),
                           tenant_id=record.tenant_id)
    try:
        identifiers = catalog.list_tables(record.namespace)
    except NoSuchNamespaceError:
        return ()
    dropped = []
    for identifier in identifiers:
        name = ".".join(identifier)
        log.info("purging table %s", name)
        location = catalog.load_table(identifier).location()
        catalog.purge_table(identifier)
        if "://" not in location or location.startswith("file://"):  # files no snapshot references any more
            remove_dir(location.removeprefix("file://"))
        dropped.append(name)
    catalog.drop_namespace(record.namespace)
    return tuple(dropped)


def _delete_landing(record: TenantRecord) -> None:
    from tenantflow.landing.storage import remove_dir

    remove_dir(record.landing)


def _delete_dags(session, tenant_id: str) -> tuple[str, ...]:
    from airflow.api.common.delete_dag import delete_dag
    from airflow.models.dag import DagModel

    from tenantflow.reconcile.offboarding import tenant_dag_filter

    dag_ids = [d for (d,) in session.query(DagModel.dag_id).filter(tenant_dag_filter(DagModel, tenant_id))]
    for dag_id in dag_ids:
        delete_dag(dag_id, keep_records_in_log=True, session=session)
    return tuple(sorted(dag_ids))
