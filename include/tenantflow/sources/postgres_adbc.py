"""PostgreSQL fast path: Arrow-native reads through ADBC (libpq COPY binary under the hood).

Rows never become Python objects. PostgreSQL types arrive as Arrow types and are made
Iceberg-friendly here: ``numeric(p,s)`` -> decimal128(p,s) (unconstrained numeric stays
text, losslessly), json/jsonb -> text, uuid -> canonical text, other opaque types (inet,
interval, …) -> their text form; arrays stay lists, timestamptz stays UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


def libpq_uri(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _numeric_type(field: pa.Field) -> pa.DataType | None:
    import pyarrow as pa

    typmod = int((field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return None  # unconstrained numeric: no fixed precision to map to
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else None


def _uuid_text(array: pa.Array) -> pa.Array:
    import uuid

    import pyarrow as pa

    storage = array.storage if isinstance(array.type, pa.BaseExtensionType) else array
    return pa.array([None if v is None else str(uuid.UUID(bytes=v)) for v in storage.to_pylist()], pa.string())


def normalise(batch: pa.RecordBatch) -> pa.Table:
    import pyarrow as pa

    columns, fields = [], []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        pg_type = (field.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
        if pg_type == "uuid":
            column = _uuid_text(column)
        elif isinstance(field.type, pa.BaseExtensionType):  # json, opaque (numeric, inet, ...)
            storage = column.storage
            target = _numeric_type(field) if pg_type == "numeric" else None
            column = storage.cast(target) if target is not None else storage.cast(pa.string())
        fields.append(pa.field(field.name, column.type))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def read_postgres(url: str, statement: Any, batch_rows: int) -> Iterator[pa.Table]:
    """Stream a compiled statement's rows as Arrow tables of at most ``batch_rows`` rows."""
    import adbc_driver_postgresql.dbapi as adbc
    from sqlalchemy.dialects import postgresql

    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    done = 0
    with adbc.connect(libpq_uri(url)) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        for batch in cursor.fetch_record_batch():
            for offset in range(0, batch.num_rows, batch_rows):
                table = normalise(batch.slice(offset, batch_rows))
                done += table.num_rows
                yield table
            log.info("read %d rows from PostgreSQL so far", done)
