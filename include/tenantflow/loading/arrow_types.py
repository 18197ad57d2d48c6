"""Arrow types Iceberg cannot store are normalised before writing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def iceberg_compatible(table: pa.Table) -> pa.Table:
    """Timestamps to microseconds, unsigned ints widened, null-typed columns to string, dictionaries decoded."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        t = field.type
        if pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us", tz=t.tz)
        elif pa.types.is_null(t):
            t = pa.string()
        elif pa.types.is_dictionary(t):
            t = t.value_type
        elif pa.types.is_unsigned_integer(t):
            t = pa.int64()
        elif pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_date64(t):
            t = pa.date32()
        fields.append(pa.field(field.name, t, nullable=True))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema, safe=False)


def plain_type(t: pa.DataType) -> pa.DataType:
    """pyiceberg reads strings/binaries/lists as their large_* variants: the same Iceberg type."""
    import pyarrow as pa

    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(plain_type(t.value_type))
    return t
