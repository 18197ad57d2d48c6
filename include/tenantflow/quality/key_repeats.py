"""Exact repeat counts of a ``unique`` key in a landed batch, by the cheapest method that is exact.

1. **Key landed in order** (an incremental cursor, an ordered export): every part holds the key's
   non-null values strictly increasing and the parts' ranges do not overlap, so nothing repeats —
   proven from one column read part by part, stopping at the first part out of order.
2. **Dense integer key** (surrogate ids): values counted in a direct-address table of
   ``max - min + 1`` slots — no hashing, no sorting; used while the batch has at most ``MAX_SLOTS``
   rows and the range at most ``DENSE_FACTOR`` times the row count and ``MAX_SLOTS`` slots
   (64 MB of counters).
3. Otherwise DuckDB groups by the key (its own query: a DISTINCT aggregate in the main scan would
   cost that scan its parallel plan); DuckDB spills to disk when the key does not fit in memory.

All three count as GX does: rows whose key occurs more than once, rows with an entirely missing
key ignored. Tests hold them to the same answers.
"""

from __future__ import annotations

from typing import Any

ORDERABLE = ("integer", "string", "large_string", "timestamp", "date", "decimal")
DENSE_FACTOR = 4
MAX_SLOTS = 8 * 1024 * 1024


def repeats(connection: Any, dataset: Any, key: tuple[str, ...], bounds: tuple[Any, Any] = (None, None)
            ) -> tuple[int, int]:
    """(rows whose key occurs more than once, distinct repeated keys) of the landed ``dataset``."""
    if len(key) == 1:
        if strictly_increasing(dataset, key[0]):
            return 0, 0
        counted = dense_integer_repeats(dataset, key[0], *bounds)
        if counted is not None:
            return counted
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


def dense_integer_repeats(dataset: Any, column: str, low: Any, high: Any) -> tuple[int, int] | None:
    """Repeats of an integer key from a direct-address count; None when the key is not an integer,
    has no values, or the batch or its range is too large for the table."""
    import numpy as np
    import pyarrow as pa

    if not pa.types.is_integer(dataset.schema.field(column).type) or low is None or high is None:
        return None
    rows, span = dataset.count_rows(), int(high) - int(low) + 1
    if rows > MAX_SLOTS or span > min(MAX_SLOTS, DENSE_FACTOR * max(rows, 1)):
        return None
    values = dataset.to_table(columns=[column])[column].drop_null()
    offsets = np.concatenate([chunk.to_numpy() - int(low) for chunk in values.chunks] or [np.zeros(0)])
    counts = np.bincount(offsets.astype(np.int64), minlength=span)  # < span, also for uint64 keys
    repeated = counts > 1
    return int(counts[repeated].sum()), int(repeated.sum())


def grouped_repeats(connection: Any, key: tuple[str, ...]) -> tuple[int, int]:
    from tenantflow.quality.sql_checks import ident

    cols = ", ".join(ident(c) for c in key)
    keyed = " OR ".join(f"{ident(c)} IS NOT NULL" for c in key)
    sql = (f"SELECT coalesce(sum(n), 0), count(*) FROM "
           f"(SELECT count(*) AS n FROM batch WHERE {keyed} GROUP BY {cols} HAVING n > 1)")
    flagged, groups = connection.execute(sql).fetchone()
    return int(flagged), int(groups)
