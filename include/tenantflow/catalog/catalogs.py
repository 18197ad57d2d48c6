"""Open the pyiceberg catalog a tenant names, from the platform's catalog settings.

One builder per catalog type (a registry, not a ladder):

- ``sql``: the embedded SQLite/PostgreSQL catalog (local folders created on first use).
- ``rest``: e.g. Unity Catalog's Iceberg REST endpoint
  ``https://<workspace>/api/2.1/unity-catalog/iceberg-rest`` with ``warehouse`` = the UC catalog;
  a personal access token or OAuth client credentials come from the tenant's connection.
- ``glue``: AWS Glue Data Catalog (namespaces are Glue databases); keys from the tenant's catalog
  connection, else the identity the process acts with (``<tenant>__aws`` in a tenant's task).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tenantflow.catalog.connection import tenant_catalog_credentials
from tenantflow.catalog.credentials import CatalogCredentials
from tenantflow.catalog.warehouse import apply_tenant_storage, tenant_warehouse
from tenantflow.config.models import CatalogSettings, PlatformConfig, TenantConfig

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def catalog_properties(
    settings: CatalogSettings, home: str, *, tenant_id: str | None = None,
    credentials: CatalogCredentials | None = None, warehouse: str | None = None, kms_key_id: str | None = None,
) -> dict[str, str]:
    """pyiceberg properties of a catalog, for a tenant: its warehouse, cloud identity and key (``warehouse.py``)."""
    workspace = _workspace(credentials.host) if credentials and credentials.host else None
    props = {}
    for key, value in settings.properties.items():
        value = value.replace("{home}", home)
        if "{tenant}" in value:
            if tenant_id is None:
                raise ValueError(f"catalog property {key}={value!r} names '{{tenant}}': open it for a tenant")
            value = value.replace("{tenant}", tenant_id)
        if "{workspace}" in value:
            if workspace is None:
                raise ValueError(f"catalog property {key}={value!r} needs the workspace host of the tenant's "
                                 f"`{settings.connection or '<connection>'}` connection")
            value = value.replace("{workspace}", workspace)
        props[key] = value
    props["type"] = settings.type
    apply_tenant_storage(props, settings, warehouse=warehouse, kms_key_id=kms_key_id)
    _BUILDERS[settings.type](props, credentials)
    return props


def open_tenant_catalog(tenant: TenantConfig, platform: PlatformConfig, home: str) -> Catalog:
    """The tenant's catalog, on its own warehouse location and, on S3, encrypted under its KMS key."""
    name = tenant.catalog.name
    return open_catalog(name, platform.catalogs[name], home, tenant_id=tenant.id,
                        warehouse=tenant_warehouse(tenant, home), kms_key_id=tenant.storage.kms_key_id)


def open_catalog(
    name: str, settings: CatalogSettings, home: str, *, tenant_id: str | None = None,
    credentials: CatalogCredentials | None = None, warehouse: str | None = None, kms_key_id: str | None = None,
) -> Catalog:
    """Open catalog ``name``; with ``settings.connection`` the tenant's connection supplies credentials."""
    from pyiceberg.catalog import load_catalog

    if credentials is None and settings.connection is not None:
        if tenant_id is None:
            raise ValueError(f"catalog {name!r} takes credentials from a tenant connection: pass tenant_id")
        credentials = tenant_catalog_credentials(tenant_id, settings.connection)
    return load_catalog(name, **catalog_properties(settings, home, tenant_id=tenant_id, credentials=credentials,
                                                   warehouse=warehouse, kms_key_id=kms_key_id))


def _workspace(host: str) -> str:
    return host.removeprefix("https://").removeprefix("http://").rstrip("/")


def _sql(props: dict[str, str], credentials: CatalogCredentials | None) -> None:
    """The embedded SQLite catalog and file:// warehouse need their folders to exist."""
    uri = props.get("uri", "")
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    warehouse = props.get("warehouse", "")
    if warehouse.startswith("file://"):
        Path(warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


def _rest(props: dict[str, str], credentials: CatalogCredentials | None) -> None:
    """A token (connection password without login), or OAuth client credentials (login + password)."""
    if credentials is None or not credentials.password:
        return
    if credentials.login:
        props.setdefault("credential", f"{credentials.login}:{credentials.password}")
        if credentials.host:
            # Databricks workspaces issue OAuth tokens at /oidc/v1/token (machine-to-machine)
            scheme = "http" if credentials.host.startswith("http://") else "https"
            props.setdefault("oauth2-server-uri", f"{scheme}://{_workspace(credentials.host)}/oidc/v1/token")
        props.setdefault("scope", credentials.extra_value("scope") or "all-apis")
    else:
        props.setdefault("token", credentials.password)


def _glue(props: dict[str, str], credentials: CatalogCredentials | None) -> None:
    if credentials is None:
        return  # the environment's AWS credential chain
    if credentials.login and credentials.password:
        props.setdefault("glue.access-key-id", credentials.login)
        props.setdefault("glue.secret-access-key", credentials.password)
    if region := credentials.extra_value("region_name"):
        props.setdefault("glue.region", region)


_BUILDERS: dict[str, Callable[[dict[str, str], CatalogCredentials | None], None]] = {
    "sql": _sql, "rest": _rest, "glue": _glue,
}
