"""pgoutput (logical replication protocol version 1) messages, decoded; column text values to Arrow.

Only what a table's change stream needs: Begin, Commit, Relation, Insert, Update, Delete and Truncate
(Origin, Type and logical messages are skipped). Tuple values arrive in PostgreSQL's text output format; the
initial snapshot selects every column ``::text`` so that both go through the same conversion and a row looks
the same whether it came from the snapshot or from the stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED = object()
"""A TOAST value the update did not change and so did not send ('u')."""


class UnsupportedChange(ValueError):
    """A change the stream cannot apply as rows (TRUNCATE, a schema change, a missing TOAST value)."""


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    type_modifier: int
    key: bool


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    name: str
    replica_identity: str  # d(efault) n(othing) f(ull) i(ndex)
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_time: datetime
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_time: datetime


@dataclass(frozen=True)
class Change:
    op: str  # I U D
    relation_oid: int
    new: tuple[Any, ...] | None = None  # text values, None (NULL) or UNCHANGED
    old: tuple[Any, ...] | None = None  # the key ('K') or, with REPLICA IDENTITY FULL, the whole old row ('O')
    old_is_key: bool = False


@dataclass(frozen=True)
class Truncate:
    relation_oids: tuple[int, ...]


@dataclass
class _Reader:
    data: bytes
    pos: int = field(default=0)

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        end = self.data.index(b"\x00", self.pos)
        value = self.data[self.pos:end].decode()
        self.pos = end + 1
        return value

    def tuple_data(self) -> tuple[Any, ...]:
        values: list[Any] = []
        for _ in range(self.take("!h")):
            kind = self.data[self.pos:self.pos + 1]
            self.pos += 1
            if kind == b"n":
                values.append(None)
            elif kind == b"u":
                values.append(UNCHANGED)
            elif kind in (b"t", b"b"):
                length = self.take("!i")
                values.append(self.data[self.pos:self.pos + length].decode())
                self.pos += length
            else:
                raise ValueError(f"pgoutput: unknown tuple value kind {kind!r}")
        return tuple(values)


def _time(micros: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=micros)


def decode(payload: bytes) -> Begin | Commit | Relation | Change | Truncate | None:
    """One pgoutput message; None for the kinds a table's changes do not need (Origin, Type, Message)."""
    r = _Reader(payload, 1)
    kind = payload[:1]
    if kind == b"B":
        lsn, ts, xid = r.take("!qqi")
        return Begin(lsn, _time(ts), xid)
    if kind == b"C":
        _flags, commit_lsn, end_lsn, ts = r.take("!bqqq")
        return Commit(commit_lsn, end_lsn, _time(ts))
    if kind == b"R":
        oid = r.take("!i")
        schema, name = r.string(), r.string()
        identity = chr(r.take("!b"))
        columns = []
        for _ in range(r.take("!h")):
            flags = r.take("!b")
            col_name = r.string()
            type_oid, modifier = r.take("!ii")
            columns.append(Column(col_name, type_oid, modifier, bool(flags & 1)))
        return Relation(oid, schema, name, identity, tuple(columns))
    if kind == b"I":
        oid = r.take("!i")
        r.pos += 1  # 'N'
        return Change("I", oid, new=r.tuple_data())
    if kind == b"U":
        oid = r.take("!i")
        marker = payload[r.pos:r.pos + 1]
        r.pos += 1
        old, old_is_key = None, False
        if marker in (b"K", b"O"):
            old, old_is_key = r.tuple_data(), marker == b"K"
            r.pos += 1  # 'N'
        return Change("U", oid, new=r.tuple_data(), old=old, old_is_key=old_is_key)
    if kind == b"D":
        oid = r.take("!i")
        marker = payload[r.pos:r.pos + 1]
        r.pos += 1
        return Change("D", oid, old=r.tuple_data(), old_is_key=marker == b"K")
    if kind == b"T":
        count = r.take("!i")
        r.pos += 1  # options
        return Truncate(tuple(r.take("!i") for _ in range(count)))
    return None


def lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


# --------------------------------------------------------------------------- text values -> Arrow

_INTS = {21: "int32", 23: "int32", 20: "int64", 26: "int64"}  # int2 (Iceberg has no int16), int4, int8, oid
_FLOATS = {700: "float32", 701: "float64"}
BOOL, NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ = 16, 1700, 1082, 1114, 1184


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type a column lands as; types without an exact Arrow/Iceberg match land as their text."""
    import pyarrow as pa

    oid = column.type_oid
    if oid in _INTS:
        return getattr(pa, _INTS[oid])()
    if oid in _FLOATS:
        return getattr(pa, _FLOATS[oid])()
    if oid == BOOL:
        return pa.bool_()
    if oid == NUMERIC and column.type_modifier >= 4:
        precision, scale = (column.type_modifier - 4) >> 16, (column.type_modifier - 4) & 0xFFFF
        if 0 < precision <= 38:
            return pa.decimal128(precision, scale)
    if oid == DATE:
        return pa.date32()
    if oid == TIMESTAMP:
        return pa.timestamp("us")
    if oid == TIMESTAMPTZ:
        return pa.timestamp("us", tz="UTC")
    return pa.string()  # text, varchar, unbounded numeric, json(b), uuid, bytea ('\x…' hex), arrays, …


def _parse_moment(value: str, kind: int) -> Any:
    if value in ("infinity", "-infinity"):
        raise UnsupportedChange(f"{value!r} timestamps/dates have no Arrow value; store a real date in the source")
    if kind == DATE:
        return date.fromisoformat(value)
    parsed = datetime.fromisoformat(value)  # the session runs DateStyle ISO and TimeZone UTC
    return parsed if kind == TIMESTAMP else parsed.astimezone(UTC)


def to_array(column: Column, values: list[str | None]) -> pa.Array:
    """Text values (None = NULL) of one column as an Arrow array of ``arrow_type(column)``."""
    import pyarrow as pa

    target = arrow_type(column)
    if column.type_oid in (DATE, TIMESTAMP, TIMESTAMPTZ):
        return pa.array([None if v is None else _parse_moment(v, column.type_oid) for v in values], target)
    if column.type_oid == BOOL:
        return pa.array([None if v is None else v == "t" for v in values], target)
    text = pa.array(values, pa.string())
    if pa.types.is_string(target):
        return text
    if pa.types.is_floating(target):  # 'NaN', 'Infinity' as Arrow reads them
        text = pa.array([v if v not in ("Infinity", "-Infinity") else v[:-5].lower() for v in values], pa.string())
    return text.cast(target)


def rows_to_table(columns: tuple[Column, ...], rows: list[tuple[Any, ...]], extra: dict[str, pa.Array]) -> pa.Table:
    """Rows of text values, column by column, plus extra columns (the op flag) as one Arrow table."""
    import pyarrow as pa

    arrays = {c.name: to_array(c, [row[i] for row in rows]) for i, c in enumerate(columns)}
    return pa.table({**arrays, **extra})
