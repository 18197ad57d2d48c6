"""Exact repeat counts of a ``unique`` key in a landed batch, by the cheapest method that is exact.

1. **Integer key** whose range (``max - min + 1`` from the Parquet footers of the landed parts) is
   at most ``MAX_BITS``: the main DuckDB scan sets one bit per value (``bitstring_agg``, 1 MB per
   8M values of range, a few ms on 1M rows); as many bits set as non-null values means no repeats.
2. **Key landed in order** (an incremental cursor, an ordered export of strings or timestamps):
   every part holds its non-null values strictly increasing and the parts' ranges do not overlap,
   so nothing repeats — proven from one column read part by part, stopping at the first part out
   of order.
3. Otherwise — and to count the rows flagged once 1 shows repeats — DuckDB groups by the key (its
   own query: a DISTINCT aggregate in the main scan would cost that scan its parallel plan;
   DuckDB spills to disk when the key does not fit in memory).

All count as GX does: rows whose key occurs more than once, rows with an entirely missing key
ignored. Tests hold them to the same answers (and to GX's).
"""

from __future__ import annotations

from typing import Any

from tenantflow.quality.sql_rules import ident

ORDERABLE = ("integer", "string", "large_string", "timestamp", "date", "decimal")
MAX_BITS = 64 * 1024 * 1024


def bitmap_bounds(dataset: Any, column: str) -> tuple[int, int] | None:
    """(min, max) of an integer ``column`` from the parts' Parquet footers when a bitmap of that
    range is small enough; None otherwise (not an integer, no statistics, range too wide)."""
    import pyarrow as pa

    if not pa.types.is_integer(dataset.schema.field(column).type):
        return None
    low = high = None
    for fragment in dataset.get_fragments():
        metadata = fragment.metadata
        for r in range(metadata.num_row_groups):
            group = metadata.row_group(r)
            chunk = next((group.column(j) for j in range(group.num_columns)
                          if group.column(j).path_in_schema == column), None)
            stats = chunk.statistics if chunk is not None else None
            if chunk is None or group.num_rows == 0 or (stats is not None and stats.null_count == group.num_rows):
                continue  # no values of the key here
            if stats is None or not stats.has_min_max:
                return None
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
    if low is None or high - low + 1 > MAX_BITS:
        return None
    return int(low), int(high)


def bitmap_expressions(column: str, bounds: tuple[int, int]) -> dict[str, str]:
    """Aggregates for the main scan: the key's non-null count and its exact distinct count."""
    col = ident(column)
    return {f"key_values:{column}": f"count({col})",
            f"key_distinct:{column}": f"bit_count(bitstring_agg({col}, {bounds[0]}, {bounds[1]}))"}


def repeats(connection: Any, dataset: Any, key: tuple[str, ...], values: dict[str, Any]) -> tuple[int, int]:
    """(rows whose key occurs more than once, distinct repeated keys) of the batch; ``dataset`` is
    its landed parts (None for an in-memory table: no footers, no parts to prove an order on);
    ``values`` holds the main scan's aggregates (the bitmap counts, when it computed them)."""
    if len(key) == 1 and dataset is not None:
        column = key[0]
        if f"key_distinct:{column}" in values:
            if int(values[f"key_distinct:{column}"]) == int(values[f"key_values:{column}"]):
                return 0, 0
        elif strictly_increasing(dataset, column):
            return 0, 0
    return grouped_repeats(connection, key)


def strictly_increasing(dataset: Any, column: str) -> bool:
    """True when every part holds ``column``'s non-null values strictly increasing and the parts'
    value ranges do not overlap. False says nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = dataset.schema.field(column).type
    if not any(getattr(pa.types, f"is_{name}")(kind) for name in ORDERABLE):
        return False
    ranges = []
    for fragment in dataset.get_fragments():
        values = fragment.to_table(columns=[column])[column].drop_null().combine_chunks()
        if len(values) > 1 and pc.any(pc.less_equal(values[1:], values[:-1])).as_py():
            return False
        if len(values):
            ranges.append((values[0].as_py(), values[-1].as_py()))
    ranges.sort()
    return all(low > high for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False))


def grouped_repeats(connection: Any, key: tuple[str, ...]) -> tuple[int, int]:
    cols = ", ".join(ident(c) for c in key)
    keyed = " OR ".join(f"{ident(c)} IS NOT NULL" for c in key)
    sql = (f"SELECT coalesce(sum(n), 0), count(*) FROM "
           f"(SELECT count(*) AS n FROM batch WHERE {keyed} GROUP BY {cols} HAVING n > 1)")
    flagged, groups = connection.execute(sql).fetchone()
    return int(flagged), int(groups)
