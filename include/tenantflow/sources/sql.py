"""SQL sources: the tenant's DB hook and the reader (a table, some of its columns, or a query, in batches).

``SqlSourceHook`` is a common-sql ``DbApiHook`` over the tenant's own connection: it gives the
SQLAlchemy URL (and, for PostgreSQL, the libpq URI of the ADBC fast path) and classifies driver
failures into retryable (``SourceUnavailable``) and not (``SourceQueryError``, fails the task at once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from tenantflow.config.models import SqlSource
from tenantflow.isolation.guards import require_own_connection
from tenantflow.sources.base import ExtractRequest, SourceRead

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

# Airflow conn_type -> SQLAlchemy driver
DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}


class SqlSourceHook(DbApiHook):
    """A tenant's SQL source: the connection ``<tenant>__<name>`` as a SQLAlchemy URL, read in Arrow batches.

    Connection: conn_type postgres/mysql/mariadb/sqlite (host = the file for sqlite), or any type with
    extra ``sqlalchemy_url``.
    """

    conn_name_attr = "connection_id"
    default_conn_name = "tenant__sql"
    conn_type = "generic"
    hook_name = "tenantflow SQL source"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(connection_id=connection_id, **kwargs)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    @property
    def sqlalchemy_url(self) -> URL:
        from sqlalchemy.engine import URL, make_url

        conn = self.connection
        extra = conn.extra_dejson
        if extra.get("sqlalchemy_url"):
            return make_url(str(extra["sqlalchemy_url"]))
        driver = DRIVERS.get(conn.conn_type or "")
        if driver is None:
            raise ValueError(
                f"connection {self.connection_id!r} has type {conn.conn_type!r}; supported: {sorted(DRIVERS)} "
                "or set extra 'sqlalchemy_url'"
            )
        if driver == "sqlite":
            return make_url(f"sqlite:///{conn.host}")
        return URL.create(driver, username=conn.login or None, password=conn.password or None,
                          host=conn.host or None, port=conn.port or None, database=conn.schema or None)

    def url_text(self) -> str:
        """The SQLAlchemy URL with its password (for the engine and ADBC; never logged)."""
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    def adbc_uri(self) -> str:
        """The libpq URI of a PostgreSQL connection, as the ADBC fast path takes it."""
        from tenantflow.sources.postgres_adbc import libpq_uri

        return libpq_uri(self.url_text())

    def get_conn(self) -> Any:
        """A DB-API connection, so DbApiHook's run/get_records work on a tenant source too."""
        return self.get_sqlalchemy_engine().raw_connection()

    def read(self, source: SqlSource, *, cursor: str | None, watermark: str | None) -> Iterator[pa.Table]:
        from tenantflow.sources.connectorx_reader import ConnectorXError, classify_connectorx_error
        from tenantflow.sources.errors import SourceQueryError, classify_sql_error, server_of

        url = self.url_text()
        try:
            yield from read_sql(url, source, cursor=cursor, watermark=watermark)
        except Exception as exc:
            error = (classify_connectorx_error(exc, self.connection_id, server_of(url))
                     if isinstance(exc, ConnectorXError) else classify_sql_error(exc, self.connection_id, url))
            if error is None:
                raise
            if isinstance(error, SourceQueryError):
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(error)) from exc
            raise error from exc

    def extract(self, request: ExtractRequest) -> SourceRead:
        source = request.source
        if not isinstance(source, SqlSource):
            raise TypeError(f"{type(self).__name__} reads sql sources, not {source.kind!r}")
        # the watermark is pushed down into the query (WHERE cursor > :watermark ORDER BY cursor)
        tables = self.read(source, cursor=request.cursor, watermark=request.watermark)
        return SourceRead(tables, f"{source.connection_id}:{source.table or 'query'}")


def build_statement(source: SqlSource, cursor: str | None, watermark: Any | None, *, upper: Any | None = None,
                    ordered: bool = True) -> Any:
    """The source's SELECT: rows after the watermark (up to ``upper``, a partitioned read's bound), by cursor."""
    import sqlalchemy as sa

    if source.table is not None:
        schema, _, name = source.table.rpartition(".")
        relation = sa.table(name, schema=schema or None)
        columns = [sa.column(c) for c in source.columns] or [sa.text("*")]
        stmt = sa.select(*columns).select_from(relation)
    else:
        stmt = sa.select(sa.text("*")).select_from(sa.text(f"({source.query}) AS tenantflow_src"))
    if cursor is not None and watermark is not None:
        bound = watermark if isinstance(watermark, sa.ClauseElement) else sa.bindparam("watermark", watermark)
        stmt = stmt.where(sa.column(cursor) > bound)
    if cursor is not None and upper is not None:
        stmt = stmt.where(sa.column(cursor) <= sa.bindparam("upper", upper))
    if cursor is not None and ordered:
        stmt = stmt.order_by(sa.column(cursor))
    return stmt


def read_sql(
    url: str, source: SqlSource, *, cursor: str | None = None, watermark: Any | None = None
) -> Iterator[pa.Table]:
    """Yield the source's rows as Arrow tables of at most ``source.batch_rows`` rows (in ``source.partitions``
    parallel reads when ``partition_on`` is set)."""
    from functools import partial

    from tenantflow.sources.connectorx_reader import cursor_bound

    watermark = cursor_bound(url, watermark)
    if source.partition_on is None:
        yield from read_statement(url, build_statement(source, cursor, watermark), source.batch_rows)
        return
    from tenantflow.sources.sql_partitions import partition_statements, read_parallel

    statements = partition_statements(url, source, cursor, watermark, build_statement)
    yield from read_parallel([partial(read_statement, url, s, source.batch_rows) for s in statements],
                             workers=source.partitions)


def read_statement(url: str, statement: Any, batch_rows: int) -> Iterator[pa.Table]:
    """One statement's rows in Arrow batches: ADBC for PostgreSQL, ConnectorX for MySQL/MariaDB, SQLite, SQL
    Server and Oracle, SQLAlchemy rows for any other dialect (an ``extra.sqlalchemy_url``)."""
    import pyarrow as pa
    import sqlalchemy as sa

    from tenantflow.sources import connectorx_reader

    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        from tenantflow.sources.postgres_adbc import read_postgres

        yield from read_postgres(url, statement, batch_rows)
        return
    if connectorx_reader.supports(url):
        yield from connectorx_reader.read_connectorx(url, statement, batch_rows)
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=batch_rows).execute(statement)
            names = list(result.keys())
            done = 0
            for rows in result.partitions(batch_rows):
                columns = list(zip(*rows, strict=True))
                yield pa.table({name: pa.array(values) for name, values in zip(names, columns, strict=True)})
                done += len(rows)
                log.info("read %d rows so far", done)
    finally:
        engine.dispose()
