"""``tenantflow sync``: make Airflow's pools, FAB roles/permissions and users match the configs.

The plan is computed as a diff between the desired state (from configs) and what the
metadata DB holds, so a second run plans nothing; ``--dry-run`` prints the plan only.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tenantflow.isolation.access_matrix import TENANT_ROLES
from tenantflow.isolation.desired import POOL_DESCRIPTION_PREFIX, DesiredState
from tenantflow.isolation.system_roles import SYSTEM_ROLES

log = logging.getLogger(__name__)

_TENANT_ROLE_RE = re.compile(r"^(?P<tenant>[a-z][a-z0-9_]*)_(?:" + "|".join(r.key for r in TENANT_ROLES) + r")$")


@dataclass(frozen=True, order=True)
class Change:
    kind: str  # create_pool, update_pool, delete_pool, create_role, delete_role, grant, revoke, create_user, ...
    target: str
    detail: str = ""
    action: str = ""
    resource: str = ""

    def __str__(self) -> str:
        verb = self.kind.replace("_", " ")
        if self.kind in ("grant", "revoke"):
            return f"{verb} {self.target}: {self.action} on {self.resource}"
        return f"{verb} {self.target}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class CurrentState:
    pools: dict[str, tuple[int, str]]
    roles: dict[str, frozenset[tuple[str, str]]]
    users: dict[str, frozenset[str]]


@contextmanager
def security_manager() -> Iterator[Any]:
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        yield appbuilder.sm


def read_current(sm: Any) -> CurrentState:
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        pools = {p.pool: (p.slots, p.description or "") for p in session.query(Pool).all()}
    roles = {
        role.name: frozenset((p.action.name, p.resource.name) for p in role.permissions)
        for role in sm.get_all_roles()
    }
    users = {u.username: frozenset(r.name for r in u.roles) for u in sm.get_all_users()}
    return CurrentState(pools, roles, users)


def plan(desired: DesiredState, current: CurrentState, *, prune: bool = False) -> list[Change]:
    changes: list[Change] = []
    for name, slots in desired.pools.items():
        if name not in current.pools:
            changes.append(Change("create_pool", name, f"slots={slots}"))
        elif current.pools[name][0] != slots:
            changes.append(Change("update_pool", name, f"slots {current.pools[name][0]} -> {slots}"))
    for name, perms in desired.roles.items():
        perms = _effective(name, perms, current)
        have = current.roles.get(name)
        if have is None:
            changes.append(Change("create_role", name, f"{len(perms)} permissions"))
            have = frozenset()
        changes += [Change("grant", name, action=a, resource=r) for a, r in sorted(perms - have)]
        changes += [Change("revoke", name, action=a, resource=r) for a, r in sorted(have - perms)]
    for username, user in desired.users.items():
        have_roles = current.users.get(username)
        if have_roles is None:
            changes.append(Change("create_user", username, f"roles={','.join(sorted(user.roles))}"))
        else:
            for role in sorted(user.roles - have_roles):
                changes.append(Change("add_user_role", username, role))
    if prune:
        changes += _prune(desired, current)
    return changes


def _effective(name: str, perms: frozenset[tuple[str, str]], current: CurrentState) -> frozenset[tuple[str, str]]:
    system = next((s for s in SYSTEM_ROLES if s.name == name and s.copy_of), None)
    return current.roles.get(system.copy_of, frozenset()) if system and system.copy_of else perms


def _prune(desired: DesiredState, current: CurrentState) -> list[Change]:
    """Pools and roles that tenantflow made for tenants whose configs are gone."""
    changes = []
    gone: set[str] = set()
    for name, (_, description) in current.pools.items():
        tenant_id = name.removeprefix("tenant_")
        if tenant_id in desired.protected:
            continue
        if description.startswith(POOL_DESCRIPTION_PREFIX) and name not in desired.pools:
            changes.append(Change("delete_pool", name, "tenant removed"))
            gone.add(tenant_id)
    for name in current.roles:
        match = _TENANT_ROLE_RE.match(name)
        if match and name not in desired.roles and match["tenant"] in gone:
            changes.append(Change("delete_role", name, "tenant removed"))
    return changes


def apply(sm: Any, desired: DesiredState, changes: list[Change]) -> None:
    from airflow.models.pool import Pool

    for change in changes:
        log.info("%s", change)
        if change.kind in ("create_pool", "update_pool"):
            Pool.create_or_update_pool(
                change.target, slots=desired.pools[change.target],
                description=desired.pool_descriptions[change.target], include_deferred=False,
            )
        elif change.kind == "delete_pool":
            Pool.delete_pool(change.target)
        elif change.kind == "create_role":
            sm.add_role(change.target)
        elif change.kind == "delete_role":
            sm.delete_role(change.target)
        elif change.kind == "grant":
            permission = sm.get_permission(change.action, change.resource) or sm.create_permission(
                change.action, change.resource)
            sm.add_permission_to_role(sm.find_role(change.target), permission)
        elif change.kind == "revoke":
            permission = sm.get_permission(change.action, change.resource)
            if permission is not None:
                sm.remove_permission_from_role(sm.find_role(change.target), permission)
        elif change.kind == "create_user":
            user = desired.users[change.target]
            created = sm.add_user(
                username=user.username, first_name=user.username, last_name="", email=user.email,
                role=[sm.find_role(r) for r in sorted(user.roles)],
                password=user.password or secrets.token_urlsafe(24),
            )
            if not created:
                raise RuntimeError(f"could not create user {user.username!r} (is the email already used?)")
        elif change.kind == "add_user_role":
            user = sm.find_user(username=change.target)
            user.roles.append(sm.find_role(change.detail))
            sm.update_user(user)
        else:  # pragma: no cover - plan() only emits the kinds above
            raise ValueError(f"unknown change {change.kind}")


def sync(desired: DesiredState, *, dry_run: bool = False, prune: bool = False) -> list[Change]:
    """Compute the plan and (unless ``dry_run``) apply it; returns the plan."""
    with security_manager() as sm:
        if not dry_run:
            sm.sync_roles()  # FAB's built-in roles and resources (platform_admin copies Admin)
        changes = plan(desired, read_current(sm), prune=prune)
        if not dry_run:
            apply(sm, desired, changes)
            # new per-DAG permissions reach FAB's Admin only now; roles copying Admin follow in a second pass
            sm.update_admin_permission()
            followers = {s.name for s in SYSTEM_ROLES if s.copy_of}
            second = [c for c in plan(desired, read_current(sm)) if c.target in followers]
            apply(sm, desired, second)
            changes += second
    return changes
