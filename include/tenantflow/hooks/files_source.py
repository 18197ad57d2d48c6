"""Hook for a tenant's file source: local paths or s3:// with the tenant's AWS connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.config.models import FilesSource
from tenantflow.hooks.guards import require_own_connection

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.connectors.bad_rows import BadRows


class FilesSourceHook(BaseHook):
    conn_name_attr = "connection_id"
    default_conn_name = "tenant__aws"
    conn_type = "aws"
    hook_name = "tenantflow file source"

    def __init__(self, *, tenant_id: str, connection_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if connection_id is not None:
            require_own_connection(tenant_id, connection_id)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    def s3_options(self) -> dict[str, Any]:
        if self.connection_id is None:
            return {}
        conn = self.get_connection(self.connection_id)
        extra = conn.extra_dejson
        options: dict[str, Any] = {}
        if conn.login:
            options.update(access_key=conn.login, secret_key=conn.password)
        if extra.get("region_name"):
            options["region"] = extra["region_name"]
        endpoint = extra.get("endpoint_url")
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            options.update(endpoint_override=host, scheme=scheme)
        return options

    def list(self, pattern: str) -> list[str]:
        from tenantflow.connectors.files import matching_files

        return matching_files(pattern, self.s3_options() or None)

    def read(
        self, pattern: str, source: FilesSource, files: list[str] | None = None, bad_rows: BadRows | None = None
    ) -> Iterator[pa.Table]:
        from tenantflow.connectors.files import read_files

        yield from read_files(pattern, source, self.s3_options() or None, files, bad_rows)
