"""Run-time isolation guards: a tenant's task may only reach the tenant's own resources."""

from __future__ import annotations

from collections.abc import Collection

from tenantflow import naming


class TenantIsolationError(PermissionError):
    """A task tried to use a resource of another tenant (or of no tenant)."""


def require_own_connection(tenant_id: str, connection_id: str) -> None:
    if not naming.owns_connection(tenant_id, connection_id):
        raise TenantIsolationError(
            f"tenant {tenant_id!r} may not use connection {connection_id!r}: "
            f"tenant connections are named '{tenant_id}__<name>'"
        )


def require_own_location(tenant_id: str, location: str, other_tenants: Collection[str] | None = None) -> None:
    """A source location (a bucket or container URI) must not be another tenant's storage.

    The rule of the config check (``ownership.location_owner_violation``), again at run time: a config
    that skipped the loader (or a tenant added since it was loaded) is refused before anything is listed.
    """
    from tenantflow.config.ownership import location_owner_violation

    if other_tenants is None:
        from tenantflow.config.loader import tenant_ids
        from tenantflow.settings import get_settings

        other_tenants = set(tenant_ids(get_settings().config_dir)) - {tenant_id}
    if violation := location_owner_violation("source.path", location, tenant_id, other_tenants, kind="source"):
        raise TenantIsolationError(f"tenant {tenant_id!r} may not read {location!r}: {violation.message}")
