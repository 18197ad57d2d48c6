"""The hook of a tenant's catalog connection: credentials from ``<tenant>__<connection>``, or the job's environment."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseHook

from tenantflow import naming
from tenantflow.catalog.credentials import CatalogCredentials
from tenantflow.catalog.databricks_env import databricks_job_credentials
from tenantflow.isolation.guards import require_own_connection

log = logging.getLogger(__name__)


class CatalogConnectionHook(BaseHook):
    """Reads a tenant's catalog connection (e.g. a Databricks workspace: host + token or OAuth client)."""

    conn_name_attr = "connection_id"
    default_conn_name = "tenant__catalog"
    conn_type = "generic"
    hook_name = "tenantflow catalog connection"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        require_own_connection(tenant_id, connection_id)
        self.tenant_id, self.connection_id = tenant_id, connection_id

    def get_conn(self) -> CatalogCredentials:
        """The connection's credentials; outside Airflow (a Databricks job), from DATABRICKS_* variables."""
        try:
            conn = self.get_connection(self.connection_id)
        except Exception as exc:  # noqa: BLE001 - any lookup failure: try the job's environment
            creds = databricks_job_credentials()
            if creds is None:
                raise LookupError(f"catalog connection {self.connection_id!r} not found ({exc}); create it, or set "
                                  "DATABRICKS_HOST and DATABRICKS_TOKEN (or _CLIENT_ID/_CLIENT_SECRET)") from exc
            log.info("catalog credentials of %s from the environment (%s)", self.tenant_id, creds.host)
            return creds
        schema = f"{conn.schema}://" if conn.schema in ("http", "https") else ""
        host = f"{schema}{conn.host}{f':{conn.port}' if conn.port else ''}" if conn.host else None
        extra = tuple(sorted((str(k), str(v)) for k, v in (conn.extra_dejson or {}).items()))
        return CatalogCredentials(host=host, login=conn.login or None, password=conn.password or None, extra=extra)


def catalog_connection_id(tenant_id: str, connection: str) -> str:
    """The tenant's connection holding a catalog's credentials: '<tenant>__<connection>'."""
    return f"{tenant_id}{naming.SEPARATOR}{connection}"


def tenant_catalog_credentials(tenant_id: str, connection: str) -> CatalogCredentials:
    """Credentials from the connection '<tenant>__<connection>'; outside Airflow, from DATABRICKS_* variables."""
    conn_id = catalog_connection_id(tenant_id, connection)
    return CatalogConnectionHook(tenant_id=tenant_id, connection_id=conn_id).get_conn()
