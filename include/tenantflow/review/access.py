"""Roles, permissions, pools and users that ``tenantflow sync`` would make of each state.

Both states go through ``isolation.desired.desired_state`` — the same function sync applies — so the
plan shows what sync will do, not a second idea of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tenantflow.isolation.desired import DesiredState, desired_state
from tenantflow.review.model import ConfigState, Item, PlanInput, Section, plural

Permission = tuple[str, str]  # (action, resource)
_DAG_RESOURCES = ("DAG:", "DAG Run:")  # per-DAG resources of FAB: grouped by DAG id in the plan
_KINDS = tuple(p.rstrip(":") for p in _DAG_RESOURCES)


def desired_of(state: ConfigState) -> DesiredState:
    return desired_state(state.bundles)


def _per_dag(perms: Iterable[Permission]) -> tuple[dict[str, dict[str, list[str]]], list[Permission]]:
    """({dag id: {"DAG"/"DAG Run": [actions]}}, other permissions)."""
    dags: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    other = []
    for action, resource in sorted(perms):
        prefix = next((p for p in _DAG_RESOURCES if resource.startswith(p)), None)
        if prefix is None:
            other.append((action, resource))
        else:
            dags[resource.removeprefix(prefix)][prefix.rstrip(":")].append(action)
    return dags, other


def permission_lines(sign: str, perms: Iterable[Permission]) -> list[str]:
    dags, other = _per_dag(perms)
    lines = [f"{sign} DAG {dag}: " + "; ".join(f"{', '.join(kinds[kind])} ({kind})" for kind in _KINDS if kind in kinds)
             for dag, kinds in sorted(dags.items())]
    lines += [f"{sign} {action} on {resource}" for action, resource in other]
    return lines


def roles_section(plan_input: PlanInput) -> Section | None:
    before, after = desired_of(plan_input.base).roles, desired_of(plan_input.head).roles
    created, deleted = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    items = []
    for name in created:
        dags, other = _per_dag(after[name])
        items.append(Item(f"role created: {name} ({plural(len(after[name]), 'permission')})", (
            f"on DAGs: {', '.join(sorted(dags)) or 'none yet'}", f"{len(other)} global permissions")))
    for name in deleted:
        items.append(Item(f"role deleted: {name} (by the reconcile after the merge)"))
    changed = 0
    for name in sorted(set(before) & set(after)):
        lines = permission_lines("grant", after[name] - before[name])
        lines += permission_lines("revoke", before[name] - after[name])
        if lines:
            changed += 1
            items.append(Item(f"role changed: {name}", tuple(lines)))
    if not items:
        return None
    summary = tuple(f"{plural(n, 'role')} {what}" for n, what in
                    ((len(created), "created"), (len(deleted), "deleted"), (changed, "changed")) if n)
    return Section("Roles and permissions", tuple(items), summary)


def pools_section(plan_input: PlanInput) -> Section | None:
    before, after = desired_of(plan_input.base).pools, desired_of(plan_input.head).pools
    items = [Item(f"pool created: {name} ({plural(after[name], 'slot')})") for name in sorted(set(after) - set(before))]
    items += [Item(f"pool slots: {name} {before[name]} -> {after[name]}")
              for name in sorted(set(before) & set(after)) if before[name] != after[name]]
    items += [Item(f"pool deleted: {name} (by the reconcile after the merge)")
              for name in sorted(set(before) - set(after))]
    return Section("Pools", tuple(items), (plural(len(items), "pool change"),)) if items else None


def users_section(plan_input: PlanInput) -> Section | None:
    before, after = desired_of(plan_input.base).users, desired_of(plan_input.head).users
    items = [Item(f"user created: {name} (roles {', '.join(sorted(after[name].roles))})")
             for name in sorted(set(after) - set(before))]
    for name in sorted(set(before) & set(after)):
        gained = sorted(after[name].roles - before[name].roles)
        lost = sorted(before[name].roles - after[name].roles)
        if gained:
            items.append(Item(f"user {name}: + {', '.join(gained)}"))
        if lost:
            items.append(Item(f"user {name}: - {', '.join(lost)} (`tenantflow sync` does not take roles away: "
                              "remove them in Security > Users)"))
    for name in sorted(set(before) - set(after)):
        items.append(Item(f"user {name}: no longer in any access list (`tenantflow sync` keeps the user and its "
                          f"roles {', '.join(sorted(before[name].roles))}: remove them in Security > Users)"))
    if not items:
        return None
    return Section("Users", tuple(items), (plural(len(items), "user change"),))
