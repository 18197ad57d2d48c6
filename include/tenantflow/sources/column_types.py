"""Declared column types for file sources: convert columns, finding the rows whose values do not fit."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenantflow.sources.bad_rows import BadRows

if TYPE_CHECKING:
    import pyarrow as pa

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_DUCKDB_NAMES = {
    "string": "VARCHAR", "int32": "INTEGER", "int64": "BIGINT", "float32": "FLOAT", "float64": "DOUBLE",
    "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ",
}


def arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    if match := _DECIMAL.fullmatch(name):
        return pa.decimal128(int(match[1]), int(match[2]))
    return {
        "string": pa.string(), "int32": pa.int32(), "int64": pa.int64(), "float32": pa.float32(),
        "float64": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
        "timestamp": pa.timestamp("us"), "timestamptz": pa.timestamp("us", tz="UTC"),
    }[name]


def _duckdb_type(name: str) -> str:
    if match := _DECIMAL.fullmatch(name):
        return f"DECIMAL({match[1]},{match[2]})"
    return _DUCKDB_NAMES[name]


def apply_column_types(
    table: pa.Table, types: Mapping[str, str], *, file: str, first_row: int, bad_rows: BadRows,
    skipped: Sequence[int] = (),
) -> pa.Table:
    """``table`` with declared columns converted; rows with values that do not convert go to ``bad_rows``.

    The fast path is one Arrow cast per column; only a column whose cast fails is checked row by row
    (with DuckDB's TRY_CAST, vectorised) to name the offending rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = [c for c in types if c not in table.column_names]
    if missing:
        raise ValueError(f"{file}: declared column(s) {missing} not in the file's columns {table.column_names}")
    bad = None
    converted: dict[str, Any] = {}
    for column, name in types.items():
        target = arrow_type(name)
        try:
            converted[column] = pc.cast(table[column], target)
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        values, failed = _try_cast(table[column], name, target)
        for index in pc.indices_nonzero(failed).to_pylist():
            row = _file_row(first_row + index, skipped)
            bad_rows.add(file, row, f"not a valid {name}", table[column][index].as_py(), column)
        converted[column] = values
        bad = failed if bad is None else pc.or_(bad, failed)
    for column, values in converted.items():
        table = table.set_column(table.column_names.index(column), column, values)
    return table if bad is None else table.filter(pc.invert(bad))


def _file_row(row: int, skipped: Sequence[int]) -> int:
    """The row's number in the file, given the (sorted) rows the reader skipped before the table was built."""
    for number in skipped:
        if number <= row:
            row += 1
    return row


def _try_cast(column: Any, name: str, target: pa.DataType) -> tuple[Any, Any]:
    """(converted values with NULL where conversion failed, mask of failed non-NULL values)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    source = pa.table({"v": column.cast(pa.string()) if not pa.types.is_string(column.type) else column})
    con = duckdb.connect()
    try:
        con.register("source", source)
        result = con.sql(f"SELECT TRY_CAST(trim(v) AS {_duckdb_type(name)}) AS v FROM source").to_arrow_table()
    finally:
        con.close()
    values = result["v"].cast(target).combine_chunks()
    failed = pc.and_(pc.is_valid(source["v"].combine_chunks()), pc.is_null(values))
    return values, failed
