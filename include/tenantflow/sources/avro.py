"""Avro object container files → Arrow tables, with types taken from the file's writer schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 50_000


def arrow_type(avro: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of an Avro schema node."""
    import pyarrow as pa

    if isinstance(avro, list):  # union: ["null", T] is a nullable T; other unions are not tabular
        branches = [b for b in avro if b != "null"]
        if len(branches) != 1:
            raise ValueError(f"Avro union {avro} has several non-null branches; only [\"null\", T] is supported")
        return arrow_type(branches[0])[0], True
    if isinstance(avro, str):
        avro = {"type": avro}
    kind, logical = avro["type"], avro.get("logicalType")
    if isinstance(kind, (dict, list)):
        return arrow_type(kind)
    if logical == "decimal":
        return pa.decimal128(avro["precision"], avro.get("scale", 0)), False
    if logical == "date":
        return pa.date32(), False
    if logical in ("timestamp-millis", "timestamp-micros"):
        return pa.timestamp("ms" if logical.endswith("millis") else "us", tz="UTC"), False
    if logical in ("local-timestamp-millis", "local-timestamp-micros"):
        return pa.timestamp("ms" if logical.endswith("millis") else "us"), False
    if logical == "uuid":
        return pa.string(), False
    simple = {"null": pa.null(), "boolean": pa.bool_(), "int": pa.int32(), "long": pa.int64(),
              "float": pa.float32(), "double": pa.float64(), "bytes": pa.binary(), "string": pa.string(),
              "enum": pa.string(), "fixed": pa.binary()}
    if kind in simple:
        return simple[kind], kind == "null"
    if kind == "array":
        return pa.list_(arrow_field("item", avro["items"])), False
    if kind == "map":
        return pa.map_(pa.string(), arrow_type(avro["values"])[0]), False
    if kind == "record":
        return pa.struct([arrow_field(f["name"], f["type"]) for f in avro["fields"]]), False
    raise ValueError(f"unsupported Avro type {kind!r}")


def arrow_field(name: str, avro: Any) -> pa.Field:
    import pyarrow as pa

    kind, nullable = arrow_type(avro)
    return pa.field(name, kind, nullable=nullable)


def read_avro(handle: IO[bytes]) -> Iterator[pa.Table]:
    """Record batches of an Avro container file (codec null/deflate/snappy/zstandard as the file says)."""
    import fastavro
    import pyarrow as pa

    reader = fastavro.reader(handle)
    schema = reader.writer_schema
    if schema.get("type") != "record":
        raise ValueError(f"the Avro file's schema is a {schema.get('type')!r}; rows need a record schema")
    arrow_schema = pa.schema([arrow_field(f["name"], f["type"]) for f in schema["fields"]])
    rows: list[dict] = []
    for record in reader:
        rows.append(record)
        if len(rows) >= BATCH_ROWS:
            yield pa.Table.from_pylist(rows, schema=arrow_schema)
            rows = []
    if rows:
        yield pa.Table.from_pylist(rows, schema=arrow_schema)
