"""Which tenants a signed-in user may see: derived from the DAGs the auth manager lets them read.

Tenant ids come from DAG ids (``<tenant>__<pipeline>``, ``naming.split_dag_id``); a user sees a tenant
when they may read at least one of its DAGs, and on that tenant's page only the DAGs they may read.
A user allowed to read every DAG (the global ``DAGs`` resource: platform_admin, support, auditor) is a
platform viewer: all tenants, and the platform overview.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tenantflow import naming


class TenantNotVisible(Exception):
    """The user may not see this tenant's data (or it has no DAGs): the API answers 403."""

    def __init__(self, username: str, tenant_id: str, visible: Iterable[str]) -> None:
        shown = sorted(visible)
        listed = ", ".join(shown[:10]) + (" …" if len(shown) > 10 else "") if shown else "none"
        super().__init__(f"user {username!r} may not see tenant {tenant_id!r} (tenants visible to them: {listed})")
        self.username = username
        self.tenant_id = tenant_id


class NotPlatformViewer(Exception):
    """The platform overview is for users who may read every DAG: the API answers 403."""

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} may not see the platform overview: it needs read access to all "
                         "DAGs (roles platform_admin, support or auditor)")


@dataclass(frozen=True)
class Scope:
    """What one user may see: tenant id -> the DAG ids of that tenant they may read."""

    username: str
    platform: bool
    tenants: dict[str, frozenset[str]] = field(default_factory=dict)

    def dag_ids(self, tenant_id: str) -> frozenset[str]:
        """The readable DAGs of a tenant, or TenantNotVisible."""
        dags = self.tenants.get(tenant_id)
        if not dags:
            raise TenantNotVisible(self.username, tenant_id, self.tenants)
        return dags

    def require_platform(self) -> None:
        if not self.platform:
            raise NotPlatformViewer(self.username)


def scope_from_dag_ids(username: str, dag_ids: Iterable[str], *, platform: bool) -> Scope:
    tenants: dict[str, set[str]] = {}
    for dag_id in dag_ids:
        parts = naming.split_dag_id(dag_id)
        if parts is not None:
            tenants.setdefault(parts[0], set()).add(dag_id)
    return Scope(username, platform, {t: frozenset(d) for t, d in sorted(tenants.items())})
