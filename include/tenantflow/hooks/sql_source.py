"""Hook for a tenant's SQL source: resolves the tenant's own Airflow connection to SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.config.models import SqlSource
from tenantflow.hooks.guards import require_own_connection

if TYPE_CHECKING:
    import pyarrow as pa

# Airflow conn_type -> SQLAlchemy driver
DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}


class TenantSqlHook(BaseHook):
    conn_name_attr = "connection_id"
    default_conn_name = "tenant__sql"
    conn_type = "generic"
    hook_name = "tenantflow SQL source"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        require_own_connection(tenant_id, connection_id)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    def sqlalchemy_url(self) -> str:
        from sqlalchemy.engine import URL

        conn = self.get_connection(self.connection_id)
        extra = conn.extra_dejson
        if extra.get("sqlalchemy_url"):
            return str(extra["sqlalchemy_url"])
        driver = DRIVERS.get(conn.conn_type or "")
        if driver is None:
            raise ValueError(
                f"connection {self.connection_id!r} has type {conn.conn_type!r}; supported: {sorted(DRIVERS)} "
                "or set extra 'sqlalchemy_url'"
            )
        if driver == "sqlite":
            return f"sqlite:///{conn.host}"
        url = URL.create(driver, username=conn.login or None, password=conn.password or None,
                         host=conn.host or None, port=conn.port or None, database=conn.schema or None)
        return url.render_as_string(hide_password=False)

    def read(self, source: SqlSource, *, cursor: str | None, watermark: str | None) -> Iterator[pa.Table]:
        from tenantflow.connectors.source_errors import SourceQueryError, classify_sql_error
        from tenantflow.connectors.sql import read_sql

        url = self.sqlalchemy_url()
        try:
            yield from read_sql(url, source, cursor=cursor, watermark=watermark)
        except Exception as exc:
            error = classify_sql_error(exc, self.connection_id, url)
            if error is None:
                raise
            if isinstance(error, SourceQueryError):
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(error)) from exc
            raise error from exc
