"""Run-time isolation guards: a tenant's task may only reach the tenant's own resources."""

from __future__ import annotations

from tenantflow import naming


class TenantIsolationError(PermissionError):
    """A task tried to use a resource of another tenant (or of no tenant)."""


def require_own_connection(tenant_id: str, connection_id: str) -> None:
    if not naming.owns_connection(tenant_id, connection_id):
        raise TenantIsolationError(
            f"tenant {tenant_id!r} may not use connection {connection_id!r}: "
            f"tenant connections are named '{tenant_id}__<name>'"
        )
