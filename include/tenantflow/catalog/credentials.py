"""Credentials of a tenant's catalog: its own Airflow connection, or the job's environment on Databricks."""

from __future__ import annotations

import logging
import os

from tenantflow.catalog.catalogs import CatalogCredentials
from tenantflow.hooks.guards import require_own_connection

log = logging.getLogger(__name__)

# Databricks unified client authentication: what a job cluster (or a developer shell) provides
_ENV = {"host": "DATABRICKS_HOST", "login": "DATABRICKS_CLIENT_ID", "password": "DATABRICKS_CLIENT_SECRET"}


def tenant_catalog_credentials(tenant_id: str, connection: str) -> CatalogCredentials:
    """Credentials from the connection '<tenant>__<connection>'; outside Airflow, from DATABRICKS_* variables."""
    conn_id = f"{tenant_id}__{connection}"
    require_own_connection(tenant_id, conn_id)
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - any lookup failure: try the job's environment
        creds = _from_environment()
        if creds is None:
            raise LookupError(f"catalog connection {conn_id!r} not found ({exc}); create it, or set "
                              "DATABRICKS_HOST and DATABRICKS_TOKEN (or _CLIENT_ID/_CLIENT_SECRET)") from exc
        log.info("catalog credentials of %s from the environment (%s)", tenant_id, creds.host)
        return creds
    schema = f"{conn.schema}://" if conn.schema in ("http", "https") else ""
    host = f"{schema}{conn.host}{f':{conn.port}' if conn.port else ''}" if conn.host else None
    extra = tuple(sorted((str(k), str(v)) for k, v in (conn.extra_dejson or {}).items()))
    return CatalogCredentials(host=host, login=conn.login or None, password=conn.password or None, extra=extra)


def _from_environment() -> CatalogCredentials | None:
    host = os.environ.get(_ENV["host"])
    if not host:
        return None
    token = os.environ.get("DATABRICKS_TOKEN")
    if token:
        return CatalogCredentials(host=host, password=token)
    return CatalogCredentials(host=host, login=os.environ.get(_ENV["login"]),
                              password=os.environ.get(_ENV["password"]))
