"""Tenants between two config states: added, removed, their quotas, tier, access, storage and catalog."""

from __future__ import annotations

from collections.abc import Iterator

from tenantflow import naming
from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import TenantConfig
from tenantflow.isolation.access_matrix import ACCESS_FIELDS
from tenantflow.review.model import Item, PlanInput, Section, plural

OFFBOARD_COMMAND = "tenantflow offboard --purge {t} --confirm {t}"
_SHOWN_FIELDS = {"id", "tier", "quotas", "classification", "access", "storage", "catalog"}


def _queue(tenant: TenantConfig) -> str:
    return tenant.quotas.worker_queue or "default queue"


def tenant_changes(old: TenantConfig, new: TenantConfig) -> list[str]:
    lines = [f"quotas.{name}: {getattr(old.quotas, name)} -> {getattr(new.quotas, name)}"
             for name in ("pool_slots", "max_active_runs", "max_active_tasks")
             if getattr(old.quotas, name) != getattr(new.quotas, name)]
    if old.tier != new.tier:
        lines.append(f"tier: {old.tier} -> {new.tier}")
    if _queue(old) != _queue(new):
        lines.append(f"worker queue: {_queue(old)} -> {_queue(new)} (tasks of its DAGs run on workers of that queue)")
    if old.classification != new.classification:
        lines.append(f"classification: {old.classification} -> {new.classification}")
    for field in ACCESS_FIELDS.values():
        before, after = set(getattr(old.access, field)), set(getattr(new.access, field))
        change = [f"+ {u}" for u in sorted(after - before)] + [f"- {u}" for u in sorted(before - after)]
        if change:
            lines.append(f"access.{field}: {', '.join(change)}")
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    others = sorted(k for k in before if k not in _SHOWN_FIELDS and before[k] != after[k])
    others += [f"storage.{k}" for k in ("retention_days",) if before["storage"][k] != after["storage"][k]]
    if others:
        lines.append(f"also changed: {', '.join(others)}")
    return lines


def _location(bundle: TenantBundle) -> str:
    catalog = bundle.tenant.catalog
    return f"landing {bundle.tenant.storage.landing}, namespace {catalog.namespace} in catalog {catalog.name}"


def tenants_section(plan_input: PlanInput) -> Section | None:
    base, head = plan_input.base.bundles, plan_input.head.bundles
    added, removed = sorted(set(head) - set(base)), sorted(set(base) - set(head))
    items: list[Item] = []
    for tid in added:
        t = head[tid].tenant
        items.append(Item(f"tenant added: {tid} ({t.display_name})", (
            f"tier {t.tier}, {_queue(t)}, pool {naming.pool_name(tid)} with {t.quotas.pool_slots} slots, "
            f"max_active_runs {t.quotas.max_active_runs}, max_active_tasks {t.quotas.max_active_tasks}",
            f"classification {t.classification}, {_location(head[tid])}",
        )))
    for tid in removed:
        items.append(Item(f"tenant removed: {tid}", (
            "the reconcile after the merge pauses its DAGs (their runs stay in the history) and removes "
            "its pool and roles: its users lose access", "its data is kept (see 'Data left by removed tenants')")))
    changed = 0
    for tid in sorted(set(base) & set(head)):
        lines = tenant_changes(base[tid].tenant, head[tid].tenant)
        if lines:
            changed += 1
            items.append(Item(f"tenant changed: {tid}", tuple(lines)))
    if not items:
        return None
    summary = tuple(f"{plural(n, 'tenant')} {what}" for n, what in
                    ((len(added), "added"), (len(removed), "removed"), (changed, "changed")) if n)
    return Section("Tenants", tuple(items), summary)


def _storage_lines(old: TenantBundle, new: TenantBundle) -> Iterator[str]:
    o, n = old.tenant, new.tenant
    if o.storage.landing != n.storage.landing:
        yield (f"landing: {o.storage.landing} -> {n.storage.landing} (batches landed so far stay under "
               f"{o.storage.landing}; they are not moved)")
    if o.storage.kms_key_id != n.storage.kms_key_id:
        yield (f"KMS key: {o.storage.kms_key_id or 'none'} -> {n.storage.kms_key_id or 'none'} (new objects only; "
               "objects landed before keep their key)")
    if o.catalog.name != n.catalog.name:
        yield f"catalog: {o.catalog.name} -> {n.catalog.name} (tables in {o.catalog.name} are not moved)"
    if o.catalog.namespace != n.catalog.namespace:
        yield (f"namespace: {o.catalog.namespace} -> {n.catalog.namespace} (loads write new tables there, created by "
               f"`tenantflow sync`; the tables in {o.catalog.namespace} are kept, not moved)")


def storage_section(plan_input: PlanInput) -> Section | None:
    base, head = plan_input.base.bundles, plan_input.head.bundles
    items = [Item(f"new tenant {tid}: {_location(head[tid])} (`tenantflow sync` creates the namespace)"
                  + (f", KMS key {head[tid].tenant.storage.kms_key_id}" if head[tid].tenant.storage.kms_key_id else ""))
             for tid in sorted(set(head) - set(base))]
    moved = 0
    for tid in sorted(set(base) & set(head)):
        lines = tuple(_storage_lines(base[tid], head[tid]))
        if lines:
            moved += 1
            items.append(Item(f"tenant {tid}", lines))
    if not items:
        return None
    return Section("Storage and catalog", tuple(items),
                   (f"storage of {plural(moved, 'tenant')} changed",) if moved else ())


def offboarding_section(plan_input: PlanInput) -> Section | None:
    base, head = plan_input.base.bundles, plan_input.head.bundles
    items = []
    for tid in sorted(set(base) - set(head)):
        bundle = base[tid]
        ns = bundle.tenant.catalog.namespace
        tables = sorted({naming.table_identifier(ns, p.target.table) for p in bundle.pipelines})
        items.append(Item(
            f"tenant {tid}: kept; deleted only by `{OFFBOARD_COMMAND.format(t=tid)}`",
            (f"landing location: {bundle.tenant.storage.landing}",
             f"catalog namespace: {ns} (catalog {bundle.tenant.catalog.name})",
             f"tables: {', '.join(tables) if tables else 'none'}"),
        ))
    if not items:
        return None
    return Section("Data left by removed tenants", tuple(items))
