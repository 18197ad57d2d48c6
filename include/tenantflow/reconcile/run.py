"""Apply the config tree to Airflow: the isolation sync (pools, roles, per-DAG permissions, users), the
tenants' catalog namespaces, and the retirement of tenants whose folder is gone.

``tenantflow sync`` runs it once; ``tenantflow reconcile --watch`` runs it whenever the tree changes (and every
``--full-every`` seconds regardless, to repair drift). Every run takes the reconcile lock, so replicas, a manual
sync and the loop never interleave; each run plans against what the metadata DB holds, so it is idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenantflow.audit.records import RECONCILE
from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import PLATFORM_FILE, TenantBundle, load_all
from tenantflow.isolation.sync import Change
from tenantflow.reconcile.fingerprint import tree_fingerprint
from tenantflow.reconcile.offboarding import Retirement
from tenantflow.settings import Settings

log = logging.getLogger(__name__)


class ConfigTreeMissing(RuntimeError):
    """The config tree is not there (git-sync not done yet, wrong path): nothing is applied or removed."""


@dataclass(frozen=True)
class ReconcileReport:
    changes: list[Change] = field(default_factory=list)
    namespaces: list = field(default_factory=list)
    """NamespaceChange of every tenant whose namespace was created/updated or failed."""
    skipped: dict[str, ConfigErrors] = field(default_factory=dict)
    """Invalid tenants: reported, their current pools/roles/DAGs left as they are."""
    retired: list[Retirement] = field(default_factory=list)
    tenants: int = 0
    dry_run: bool = False
    audit_failures: dict[str, str] = field(default_factory=dict)
    """Tenant -> why its sync changes could not be written to its audit trail (the command exits 1)."""

    @property
    def failed_namespaces(self) -> list:
        return [c for c in self.namespaces if c.kind == "failed"]

    def lines(self) -> list[str]:
        mark = "~ " if self.dry_run else "+ "
        out = [f"skipping tenant {t!r} (invalid config, its current access is left as is):\n{e}"
               for t, e in sorted(self.skipped.items())]
        applied = [*self.changes, *(c for c in self.namespaces if c.kind != "failed")]
        out += [f"{mark}{c}" for c in applied]
        out += [f"{mark}{r}" for r in self.retired]
        count = len(applied) + len(self.retired)
        verb = "would apply" if self.dry_run else "applied"
        out.append(f"{verb} {count} change(s) for {self.tenants} tenant(s)" if count else "no changes: in sync")
        out += [f"! catalog namespace of tenant {c.tenant_id!r} not synced: {c.detail}"
                for c in self.failed_namespaces]
        out += [f"! audit trail of tenant {t!r}: the sync changes above were applied but NOT recorded: {why}"
                for t, why in sorted(self.audit_failures.items())]
        return out


def reconcile(settings: Settings, *, demo_users: bool = False, prune: bool = True, dry_run: bool = False,
              catalog: bool = True, lock_wait: float = 900.0, actor: str = RECONCILE) -> ReconcileReport:
    """One reconcile of the whole tree; invalid tenants are skipped, never pruned.

    ``actor`` is who the tenants' audit trails name for the changes (``cli:<name>`` for ``tenantflow sync``)."""
    from tenantflow.isolation.desired import desired_state
    from tenantflow.reconcile.lock import reconcile_lock

    if not (settings.config_dir / PLATFORM_FILE).is_file():
        raise ConfigTreeMissing(
            f"config dir {settings.config_dir} has no {PLATFORM_FILE}: nothing applied, nothing removed "
            "(set [tenantflow] config_dir / AIRFLOW__TENANTFLOW__CONFIG_DIR to the tenant_configs folder)")
    bundles, failures = load_all(settings.config_dir)
    desired = desired_state(bundles, demo_users=demo_users, protected=frozenset(failures))
    if dry_run:
        return _apply(settings, bundles, failures, desired, prune=prune, dry_run=True, catalog=catalog, actor=actor)
    with reconcile_lock(lock_wait):
        return _apply(settings, bundles, failures, desired, prune=prune, dry_run=False, catalog=catalog,
                      actor=actor)


def _apply(settings, bundles, failures, desired, *, prune, dry_run, catalog, actor) -> ReconcileReport:
    from airflow.utils.session import create_session

    from tenantflow.isolation.sync import sync
    from tenantflow.reconcile.offboarding import retire, to_retire
    from tenantflow.reconcile.records import read_records, record_of, write_record

    changes = sync(desired, dry_run=dry_run, prune=prune)
    namespaces = _sync_namespaces(bundles, settings, dry_run=dry_run) if catalog else []
    retired: list[Retirement] = []
    with create_session() as session:
        records = read_records(session)
        present = set(bundles) | set(failures)
        if prune:
            for record in to_retire(records, present):
                if dry_run:
                    retired.append(Retirement(record, ()))
                else:
                    retired.append(retire(session, record))
        if not dry_run:
            for bundle in bundles.values():
                write_record(session, record_of(bundle, settings.home))
    audit_failures = {} if dry_run else _audit_changes(settings, bundles, records, desired, changes, actor)
    return ReconcileReport(changes, namespaces, dict(failures), retired, len(bundles), dry_run, audit_failures)


def _audit_changes(settings, bundles, records, desired, changes, actor) -> dict[str, str]:
    """Each tenant's pool, role and user changes to its audit trail; tenant -> error of those not written."""
    from tenantflow.audit.events import now, sync_records
    from tenantflow.audit.store import AuditStore
    from tenantflow.config.loader import load_platform

    at = now()
    users = {name: user.roles for name, user in desired.users.items()}
    by_tenant = sync_records(changes, actor=actor, sync_id=f"sync:{at.isoformat()}", users=users, at=at)
    failed: dict[str, str] = {}
    if not by_tenant:
        return failed
    platform = load_platform(settings.config_dir).config
    for tenant_id, tenant_records in sorted(by_tenant.items()):
        bundle, record = bundles.get(tenant_id), records.get(tenant_id)
        catalog_name = bundle.tenant.catalog.name if bundle else record.catalog if record else None
        try:
            if catalog_name is None:
                raise LookupError("no config and no record of the tenant's catalog")
            AuditStore.in_catalog(catalog_name, tenant_id, platform, str(settings.home)).append(tenant_records)
        except Exception as exc:  # noqa: BLE001 - the others are recorded; this one is reported, exit 1
            log.error("audit of tenant %s: %d sync change(s) not recorded: %s", tenant_id, len(tenant_records), exc)
            failed[tenant_id] = str(exc)
    return failed


def _sync_namespaces(bundles: dict[str, TenantBundle], settings: Settings, *, dry_run: bool) -> list:
    from tenantflow.catalog.catalogs import open_tenant_catalog
    from tenantflow.catalog.namespaces import sync_namespaces

    def open_for(bundle: TenantBundle):
        return open_tenant_catalog(bundle.tenant, bundle.platform, str(settings.home))

    return sync_namespaces(bundles, open_for, dry_run=dry_run)


def watch(current_settings: Callable[[], Settings], *, interval: float, full_every: float, demo_users: bool,
          rounds: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Reconcile whenever the config tree (or the DAG entry files) change; ``rounds`` bounds it for tests."""
    from tenantflow.reconcile.lock import LockBusy

    applied, last_full, done = None, float("-inf"), 0
    while rounds is None or done < rounds:
        settings = current_settings()  # re-resolved every round: git-sync swaps the checkout's symlink
        fingerprint = tree_fingerprint(settings.config_dir, settings.dags_dir)
        if fingerprint != applied or time.monotonic() - last_full >= full_every:
            started = time.monotonic()
            try:
                report = reconcile(settings, demo_users=demo_users, lock_wait=interval)
            except LockBusy as exc:
                log.info("reconcile: %s; trying again next round", exc)
            except ConfigTreeMissing as exc:
                log.warning("reconcile: %s", exc)
            except Exception:  # noqa: BLE001 - the loop outlives a DB restart or a catalog outage
                log.exception("reconcile failed; trying again next round")
            else:
                applied, last_full = fingerprint, time.monotonic()
                for line in report.lines():
                    log.info("reconcile: %s", line)
                log.info("reconcile: tree %s applied in %.1fs", fingerprint[:12], time.monotonic() - started)
        done += 1
        if rounds is None or done < rounds:
            sleep(interval)
