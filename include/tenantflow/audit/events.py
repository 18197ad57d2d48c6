"""The audit records of each data operation, built from what the operation returned (counts and names only).

Each ``*_records`` function is pure over its inputs except ``load_records``, which reads the commit's
snapshot summary (rows added/deleted) from the table. ``record`` writes them with the platform's identity
in the same task, right after the operation committed: a failure fails the task (``AuditWriteFailed``), and
the retry finds the load committed (exactly once by run id) and writes only the records still missing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenantflow.audit import records as r
from tenantflow.audit.records import AuditRecord

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from tenantflow.isolation.sync import Change
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(ctx: PipelineContext, records: Sequence[AuditRecord]) -> int:
    """Write the tenant's records (platform identity, platform location): retried, then ``AuditWriteFailed``."""
    from tenantflow.audit.store import AuditStore

    if not records:
        return 0
    return AuditStore.for_tenant(ctx.tenant, ctx.platform, ctx.home).append(records)


def _snapshot_of_run(table: Table, run_id: str, snapshot_id: int | None) -> Any:
    """The snapshot the run committed: the one returned, else (a retry that found the run committed) the one
    whose summary names the run id."""
    from tenantflow.loading import state

    if snapshot_id is not None:
        return table.snapshot_by_id(snapshot_id)
    for snapshot in reversed(table.snapshots()):
        if state.summary_properties(snapshot).get(state.RUN_ID) == run_id:
            return snapshot
    return None


def load_records(ctx: PipelineContext, result: Mapping[str, Any], *, run_id: str, actor: str,
                 table: Table | None, at: dt.datetime | None = None) -> list[AuditRecord]:
    """The load (snapshot id, rows added/deleted) and the PII masking decision of each column."""
    at = at or now()
    identifier = str(result.get("table") or ctx.table_identifier)
    snapshot = _snapshot_of_run(table, run_id, result.get("snapshot_id")) if table is not None else None
    summary = snapshot.summary.additional_properties if snapshot is not None and snapshot.summary else {}
    details: dict[str, Any] = {
        "dag_id": ctx.dag_id, "mode": result.get("mode", ctx.pipeline.target.mode),
        "rows_added": int(summary.get("added-records", result.get("rows", 0)) or 0),
        "rows_deleted": int(summary.get("deleted-records", 0) or 0),
        "retried": bool(result.get("skipped")) and snapshot is not None,
    }
    if snapshot is None:
        details["committed"] = "nothing (empty batch)" if result.get("rows", 0) == 0 else "unknown"
    out = [AuditRecord(ctx.tenant_id, at, actor, r.LOAD, identifier, run_id,
                       snapshot.snapshot_id if snapshot is not None else None, details)]
    pii = result.get("pii") or {}
    detected = {f["column"]: f["pii_type"] for f in pii.get("findings", [])}
    classification = pii.get("classification")
    for column, method in sorted((pii.get("masking") or {}).items()):
        out.append(AuditRecord(ctx.tenant_id, at, actor, r.PII_MASKING, f"{identifier}.{column}", run_id, None,
                               {"column": column, "method": method, "pii_type": detected.get(column),
                                "table_classification": classification}))
    return out


def stream_load_records(ctx: PipelineContext, table: Table | None, *, run_id: str, actor: str,
                        at: dt.datetime | None = None) -> list[AuditRecord]:
    """One load record per micro-batch a stream run committed (run id ``<run>.<attempt>.<n>``), read from the
    table's snapshots: a retried run records what an earlier attempt committed but could not record."""
    from tenantflow.loading import state

    if table is None:
        return []
    at = at or now()
    out = []
    for snapshot in table.snapshots():
        batch_run = state.summary_properties(snapshot).get(state.RUN_ID, "")
        if not batch_run.startswith(f"{run_id}."):
            continue
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        out.append(AuditRecord(ctx.tenant_id, at, actor, r.LOAD, ctx.table_identifier, batch_run, snapshot.snapshot_id,
                               {"dag_id": ctx.dag_id, "airflow_run_id": run_id, "micro_batch": True,
                                "rows_added": int(summary.get("added-records", 0) or 0),
                                "rows_deleted": int(summary.get("deleted-records", 0) or 0)}))
    return out


def quarantine_records(ctx: PipelineContext, *, run_id: str, actor: str, rows: int, rules: Iterable[str],
                       at: dt.datetime | None = None) -> list[AuditRecord]:
    from tenantflow.quality.store import quarantine_identifier

    if not rows:
        return []
    target = quarantine_identifier(ctx.namespace, ctx.pipeline.target.table)
    return [AuditRecord(ctx.tenant_id, at or now(), actor, r.QUARANTINE, target, run_id, None,
                        {"dag_id": ctx.dag_id, "rows_quarantined": int(rows), "rules": sorted(set(rules))})]


def maintenance_records(ctx: PipelineContext, result: Mapping[str, Any], *, run_id: str,
                        actor: str = r.MAINTENANCE, at: dt.datetime | None = None) -> list[AuditRecord]:
    """Per table its maintenance (snapshots expired, files compacted, orphans deleted); and the retention
    deletions of quarantine rows and landing folders."""
    at = at or now()
    out = []
    for summary in result.get("tables", []):
        details = {step: {k: v for k, v in summary.get(step, {}).items() if k != "seconds"}
                   for step in ("expire", "compact", "orphans")}
        out.append(AuditRecord(ctx.tenant_id, at, actor, r.MAINTENANCE_RUN, summary["table"], run_id, None, details))
    if result.get("quarantine_rows_expired"):
        from tenantflow.quality.store import quarantine_identifier

        out.append(AuditRecord(ctx.tenant_id, at, actor, r.RETENTION_DELETE,
                               quarantine_identifier(ctx.namespace, ctx.pipeline.target.table), run_id, None,
                               {"rows_deleted": int(result["quarantine_rows_expired"]), "kind": "quarantine",
                                "max_age_days": _days(ctx.retention.quarantine)}))
    if result.get("landing_folders_expired"):
        out.append(AuditRecord(ctx.tenant_id, at, actor, r.RETENTION_DELETE, f"landing:{ctx.pipeline.id}", run_id,
                               None, {"folders_deleted": int(result["landing_folders_expired"]),
                                      "kind": "landing", "raw_batches_max_age_days": _days(ctx.retention.raw_batches),
                                      "rejects_max_age_days": _days(ctx.retention.rejects)}))
    return out


def _days(age: dt.timedelta | None) -> float | None:
    return round(age.total_seconds() / 86400, 3) if age is not None else None


def _change_tenant(change: Change, users: Mapping[str, frozenset[str]]) -> set[str]:
    """The tenants a sync change concerns: a pool tenant_<id>, a role <id>_<persona>, a user of those roles."""
    from tenantflow.isolation.sync import _TENANT_ROLE_RE
    from tenantflow.isolation.system_roles import SYSTEM_ROLES

    system = {s.name for s in SYSTEM_ROLES}  # platform_admin looks like <tenant>_admin: it is no tenant's

    def tenant_of(role: str) -> str | None:
        match = _TENANT_ROLE_RE.match(role)
        return match["tenant"] if match and role not in system else None

    if change.kind.endswith("_pool"):
        return {change.target.removeprefix("tenant_")} if change.target.startswith("tenant_") else set()
    if change.kind in ("create_role", "delete_role", "grant", "revoke"):
        return {t} if (t := tenant_of(change.target)) else set()
    roles = {change.detail} if change.kind == "add_user_role" else users.get(change.target, frozenset())
    return {t for role in roles if (t := tenant_of(role))}


def sync_records(changes: Sequence[Change], *, actor: str, sync_id: str, users: Mapping[str, frozenset[str]],
                 at: dt.datetime | None = None) -> dict[str, list[AuditRecord]]:
    """Tenant id -> records of the changes to its pools, roles and users; grants/revokes one record per role."""
    at = at or now()
    grouped: dict[tuple[str, str, str], list[Change]] = defaultdict(list)
    for change in changes:
        for tenant_id in _change_tenant(change, users):
            grouped[(tenant_id, change.kind, change.target)].append(change)
    out: dict[str, list[AuditRecord]] = defaultdict(list)
    for (tenant_id, kind, target), group in sorted(grouped.items()):
        if kind in ("grant", "revoke"):
            details: dict[str, Any] = {"permissions": sorted(f"{c.action} on {c.resource}" for c in group)}
        else:
            details = {"detail": "; ".join(c.detail for c in group if c.detail)}
        out[tenant_id].append(AuditRecord(tenant_id, at, actor, f"{r.SYNC_PREFIX}{kind}", target, sync_id, None,
                                          details))
    return dict(out)


def purge_record(tenant_id: str, *, actor: str, tables: Sequence[str], namespace: str, landing: str,
                 dags: Sequence[str], at: dt.datetime | None = None) -> AuditRecord:
    at = at or now()
    return AuditRecord(tenant_id, at, actor, r.OFFBOARD_PURGE, namespace, f"purge:{at.isoformat()}", None,
                       {"tables_dropped": list(tables), "landing_deleted": landing, "dags_deleted": list(dags)})
