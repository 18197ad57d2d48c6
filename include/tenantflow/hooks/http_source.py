"""Hook for a tenant's REST API source: base URL and credentials from the tenant's own connection.

Connection fields: host (with or without scheme), schema (http/https), port, login/password;
extra ``auth_type``: ``bearer`` (token = password), ``basic`` (login/password), ``api_key``
(header ``api_key_header``, default X-API-Key, value = password) or ``none``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.config.models import HttpSource
from tenantflow.hooks.guards import require_own_connection

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.connectors.http import HttpAuth


class HttpSourceHook(BaseHook):
    conn_name_attr = "connection_id"
    default_conn_name = "tenant__api"
    conn_type = "http"
    hook_name = "tenantflow REST API source"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        require_own_connection(tenant_id, connection_id)
        self.tenant_id, self.connection_id = tenant_id, connection_id

    def base_url_and_auth(self) -> tuple[str, HttpAuth]:
        from tenantflow.connectors.http import HttpAuth

        conn = self.get_connection(self.connection_id)
        host = conn.host or ""
        if "://" not in host:
            scheme = conn.schema or "https"
            host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        extra = conn.extra_dejson
        kind = extra.get("auth_type", "bearer" if conn.password and not conn.login else "basic" if conn.login
                         else "none")
        if kind == "bearer":
            return host, HttpAuth(headers={"Authorization": f"Bearer {conn.password}"})
        if kind == "basic":
            return host, HttpAuth(basic=(conn.login or "", conn.password or ""))
        if kind == "api_key":
            return host, HttpAuth(headers={extra.get("api_key_header", "X-API-Key"): conn.password or ""})
        return host, HttpAuth()

    def read(self, source: HttpSource) -> Iterator[pa.Table]:
        from tenantflow.connectors.http import HttpReader

        base_url, auth = self.base_url_and_auth()
        yield from HttpReader(base_url, source, auth).pages()
