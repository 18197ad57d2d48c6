"""The isolation state tenant configs ask for: pools, roles with exact permissions, users."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tenantflow import naming
from tenantflow.config.loader import TenantBundle
from tenantflow.isolation.access_matrix import ACCESS_FIELDS, TENANT_ROLES, role_name, role_permissions
from tenantflow.isolation.system_roles import SYSTEM_ROLES

POOL_DESCRIPTION_PREFIX = "tenantflow: "


@dataclass(frozen=True)
class DesiredUser:
    username: str
    email: str
    roles: frozenset[str]
    password: str | None = None  # demo users only; others sign in through SSO or get a password set by admins


@dataclass(frozen=True)
class DesiredState:
    pools: dict[str, int] = field(default_factory=dict)
    pool_descriptions: dict[str, str] = field(default_factory=dict)
    roles: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    users: dict[str, DesiredUser] = field(default_factory=dict)
    tenants: frozenset[str] = frozenset()
    protected: frozenset[str] = frozenset()
    """Tenants whose configs exist but are invalid: their pools and roles are left as they are."""


def desired_state(
    bundles: Mapping[str, TenantBundle], *, demo_users: bool = False, protected: frozenset[str] = frozenset()
) -> DesiredState:
    pools: dict[str, int] = {}
    descriptions: dict[str, str] = {}
    roles: dict[str, frozenset[tuple[str, str]]] = {}
    members: dict[str, set[str]] = {}
    for tenant_id, bundle in sorted(bundles.items()):
        pool = naming.pool_name(tenant_id)
        pools[pool] = bundle.tenant.quotas.pool_slots
        descriptions[pool] = f"{POOL_DESCRIPTION_PREFIX}tenant {tenant_id} ({bundle.tenant.display_name})"
        dag_ids = naming.tenant_dag_ids(tenant_id, [p.id for p in bundle.pipelines if p.enabled])
        for role in TENANT_ROLES:
            name = role_name(tenant_id, role)
            roles[name] = frozenset(role_permissions(tenant_id, role, dag_ids))
            for username in getattr(bundle.tenant.access, ACCESS_FIELDS[role.key]):
                members.setdefault(username, set()).add(name)
            if demo_users:
                members.setdefault(name, set()).add(name)
    for system in SYSTEM_ROLES:
        roles[system.name] = system.permissions
        if demo_users:
            members.setdefault(system.demo_user, set()).add(system.name)
    users = {
        username: DesiredUser(
            username=username,
            email=f"{username}@example.com",
            roles=frozenset(role_names),
            password=demo_password(username) if demo_users else None,
        )
        for username, role_names in sorted(members.items())
    }
    return DesiredState(pools, descriptions, roles, users, frozenset(bundles), protected)


def demo_password(username: str) -> str:
    """Demo logins are documented in the README: the password is the username + '-demo'."""
    return f"{username}-demo"
