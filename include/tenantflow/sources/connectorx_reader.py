"""Arrow-native reads of MySQL/MariaDB, SQLite, SQL Server and Oracle sources through ConnectorX.

ConnectorX (Rust) reads the server's binary protocol straight into Arrow record batches
(``return_type="arrow_stream"``, ``batch_size`` = ``source.batch_rows``), so rows never become Python
objects and memory is bounded by one batch, not by the table. The statement is compiled for the
source's dialect with its values inlined (the watermark, partition bounds).

What ConnectorX does not keep, this module restores:
* ``DECIMAL(p,s)``: ConnectorX's decimal has at most 28 digits and 10 decimals (it rounds, or fails, past
  that), so every decimal column is read as text (``CAST(… AS CHAR)``) and cast back exactly to
  ``decimal128(p, s)`` with the precision and scale the server describes (p > 38 stays text);
* MySQL ``TIMESTAMP`` is an instant, which ConnectorX reads as a naive wall time of the session's time
  zone (the server's default, whatever it is): it is read as microseconds since the epoch
  (``UNIX_TIMESTAMP``, independent of any time zone) and becomes ``timestamp[us, UTC]``; ``DATETIME``
  (a wall time with no zone) stays naive ``timestamp[us]``;
* unsigned integers (Iceberg has none) widen to the next signed type, ``BIGINT UNSIGNED`` to
  ``decimal128(20, 0)``; ``large_string``/``large_binary`` become ``string``/``binary``.

SQL Server (``mssql://``) and Oracle (``oracle://``) URLs map the same way but no server of theirs runs on
these machines: they are not tested here.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

# SQLAlchemy backend -> ConnectorX URL scheme
SCHEMES = {"mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "mssql": "mssql", "oracle": "oracle"}
MYSQL_DECIMAL_TYPES = {0, 246}  # DECIMAL, NEWDECIMAL (PyMySQL's cursor.description type codes)
MYSQL_TIMESTAMP_TYPE = 7  # TIMESTAMP (DATETIME is 12)
INSTANT = "instant"  # the restore mark of a TIMESTAMP column (decimals carry their precision and scale)


def supports(url: str) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name() in SCHEMES


def connectorx_url(url: str) -> str:
    """The ConnectorX connection string of a SQLAlchemy URL (same host, login, database; driver dropped)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    scheme = SCHEMES[parsed.get_backend_name()]
    if scheme == "sqlite":
        return f"sqlite://{os.path.abspath(parsed.database or '')}"  # sqlite:///abs/file.db
    return parsed.set(drivername=scheme, query={}).render_as_string(hide_password=False)


def compiled_sql(url: str, statement: Any) -> str:
    """The statement as SQL text of the source's dialect, values inlined (ConnectorX takes no parameters)."""
    import sqlalchemy as sa

    dialect = sa.create_engine(url).dialect
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def restored_columns(url: str, statement: Any) -> tuple[list[str], dict[str, tuple[int, int] | str]]:
    """MySQL/MariaDB: the result's column names, and the columns to restore, from a zero-row read: DECIMAL
    columns with their (precision, scale), TIMESTAMP columns as ``INSTANT`` (other dialects: none)."""
    import sqlalchemy as sa

    if sa.engine.make_url(url).get_backend_name() not in ("mysql", "mariadb"):
        return [], {}
    probe = sa.select(sa.text("*")).select_from(statement.subquery("tenantflow_probe")).limit(0)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            description = conn.execute(probe).cursor.description
    finally:
        engine.dispose()
    names: list[str] = []
    found: dict[str, tuple[int, int] | str] = {}
    for name, type_code, _display, length, _precision, scale, _null_ok in description:
        names.append(name)
        if type_code == MYSQL_TIMESTAMP_TYPE:
            found[name] = INSTANT
        elif type_code in MYSQL_DECIMAL_TYPES:
            # the column length counts the digits, a sign and (with decimals) the point: DECIMAL(12,2) -> 14
            found[name] = (max(1, min(length - 1 - (1 if scale else 0), 76)), scale)
    return names, found


def cursor_bound(url: str, watermark: Any) -> Any:
    """The watermark as the statement compares it: on MySQL/MariaDB a UTC instant (text with an offset, as a
    TIMESTAMP cursor's watermark is stored) is converted into the session's time zone by the server, since
    a TIMESTAMP column is compared in that zone; any other value is bound as it is."""
    import datetime as dt

    import sqlalchemy as sa

    if watermark is None or sa.engine.make_url(url).get_backend_name() not in ("mysql", "mariadb"):
        return watermark
    try:
        instant = dt.datetime.fromisoformat(str(watermark))
    except ValueError:
        return watermark
    if instant.tzinfo is None:
        return watermark  # a DATETIME (wall time) cursor: compared as written
    utc = instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return sa.func.convert_tz(utc, "+00:00", sa.literal_column("@@session.time_zone"))


def _selected(name: str, restore: tuple[int, int] | str | None) -> Any:
    import sqlalchemy as sa

    column = sa.column(name)
    if restore is None:
        return column
    if restore == INSTANT:  # microseconds since the epoch: the stored instant, whatever the session's zone
        return sa.cast(sa.func.unix_timestamp(column) * 1000000, sa.BigInteger).label(name)
    return sa.cast(column, sa.String).label(name)


def with_restorable_columns(statement: Any, names: list[str], restores: dict[str, tuple[int, int] | str]) -> Any:
    """The statement with its decimal columns selected as text and its TIMESTAMP columns as epoch
    microseconds (both restored exactly in ``normalise``), in the statement's order (a derived table's
    ORDER BY is not kept by MySQL, so it is applied outside)."""
    import sqlalchemy as sa

    if not restores:
        return statement
    inner = statement.subquery("tenantflow_src_dec")
    columns = [_selected(n, restores.get(n)) for n in names]
    order = [sa.column(c.name) for c in getattr(statement, "_order_by_clauses", ()) if getattr(c, "name", None)]
    return sa.select(*columns).select_from(inner).order_by(*order)


def _decimal(column: pa.Array, precision: int, scale: int) -> pa.Array:
    import pyarrow as pa

    if precision > 38:
        return column.cast(pa.string())  # wider than Iceberg's decimal: kept exact as text
    try:
        return column.cast(pa.decimal128(precision, scale))
    except pa.ArrowInvalid:  # an UNSIGNED decimal has one more digit than its length says
        return column.cast(pa.decimal128(min(precision + 1, 38), scale))


def _widened(type_: pa.DataType) -> pa.DataType | None:
    import pyarrow as pa

    if pa.types.is_large_string(type_):
        return pa.string()
    if pa.types.is_large_binary(type_):
        return pa.binary()
    return {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64(),
            pa.uint64(): pa.decimal128(20, 0)}.get(type_)


def normalise(batch: pa.RecordBatch, restores: dict[str, tuple[int, int] | str]) -> pa.Table:
    """Iceberg-friendly types: exact decimals, UTC instants, signed integers, string/binary (see the module doc)."""
    import pyarrow as pa

    columns = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        restore = restores.get(field.name)
        if restore == INSTANT:
            column = column.cast(pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        elif restore is not None:
            column = _decimal(column.cast(pa.string()), *restore)
        elif (target := _widened(field.type)) is not None:
            column = column.cast(target)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def read_connectorx(url: str, statement: Any, batch_rows: int) -> Iterator[pa.Table]:
    """Stream the statement's rows as Arrow tables of at most ``batch_rows`` rows."""
    import connectorx

    names, restores = restored_columns(url, statement)
    sql = compiled_sql(url, with_restorable_columns(statement, names, restores))
    try:
        reader = connectorx.read_sql(connectorx_url(url), sql, return_type="arrow_stream", batch_size=batch_rows)
        for batch in reader:
            if batch.num_rows:
                yield normalise(batch, restores)
    except BaseException as exc:  # ConnectorX raises RuntimeError, or pyo3's PanicException (a BaseException)
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise ConnectorXError(str(exc)) from exc


class ConnectorXError(Exception):
    """A ConnectorX failure, classified for the user by ``classify_connectorx_error``."""


_UNREACHABLE = re.compile(r"refused|timed out|timeout|can't connect|unable to connect|could not connect|"
                          r"connection reset|broken pipe|unknown host|name or service not known|lost connection",
                          re.IGNORECASE)


_MIXED = re.compile(r'InvalidColumnType\(\d+, "(?P<name>[^"]+)"|Invalid column type \w+ at index: \d+, name: '
                    r'(?P<other>\w+)')


def classify_connectorx_error(exc: ConnectorXError, connection_id: str, server: str) -> Exception:
    from tenantflow.sources.errors import SourceQueryError, SourceUnavailable

    reason = " ".join(re.sub(r"://[^:@/\s]+:[^@/\s]+@", "://***@", str(exc)).split())[:300]
    if _UNREACHABLE.search(reason):
        return SourceUnavailable(f"source connection {connection_id!r} ({server}) is unavailable: {reason}; the "
                                 "task is retried with the tenant's retry policy")
    mixed = _MIXED.search(reason)
    if mixed:
        column = mixed.group("name") or mixed.group("other")
        reason = f"column {column!r} holds values of different types ({reason})"
    hint = ("a column whose values have different types (SQLite's dynamic typing) cannot be read as one Arrow "
            "column: CAST it in source.query" if mixed else "check source.table / source.query / source.columns")
    return SourceQueryError(f"source connection {connection_id!r} ({server}) rejected the read: {reason}; {hint}")
