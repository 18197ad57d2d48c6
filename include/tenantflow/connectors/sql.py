"""SQL sources through SQLAlchemy: a table (optionally some columns) or a query, streamed in batches."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tenantflow.config.models import SqlSource

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


def build_statement(source: SqlSource, cursor: str | None, watermark: Any | None) -> Any:
    import sqlalchemy as sa

    if source.table is not None:
        schema, _, name = source.table.rpartition(".")
        relation = sa.table(name, schema=schema or None)
        columns = [sa.column(c) for c in source.columns] or [sa.text("*")]
        stmt = sa.select(*columns).select_from(relation)
    else:
        stmt = sa.select(sa.text("*")).select_from(sa.text(f"({source.query}) AS tenantflow_src"))
    if cursor is not None and watermark is not None:
        stmt = stmt.where(sa.column(cursor) > sa.bindparam("watermark", watermark))
    if cursor is not None:
        stmt = stmt.order_by(sa.column(cursor))
    return stmt


def read_sql(
    url: str, source: SqlSource, *, cursor: str | None = None, watermark: Any | None = None
) -> Iterator[pa.Table]:
    """Yield the source's rows as Arrow tables of at most ``source.batch_rows`` rows."""
    import pyarrow as pa
    import sqlalchemy as sa

    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        from tenantflow.connectors.postgres import read_postgres

        yield from read_postgres(url, build_statement(source, cursor, watermark), source.batch_rows)
        return

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=source.batch_rows).execute(
                build_statement(source, cursor, watermark)
            )
            names = list(result.keys())
            done = 0
            for rows in result.partitions(source.batch_rows):
                columns = list(zip(*rows, strict=True))
                yield pa.table({name: pa.array(values) for name, values in zip(names, columns, strict=True)})
                done += len(rows)
                log.info("read %d rows from %s so far", done, source.table or "query")
    finally:
        engine.dispose()
