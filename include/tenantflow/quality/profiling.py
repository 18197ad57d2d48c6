"""Per-column profile of a batch: null rate, distinct count, min/max/mean of numerics, top values.

Top values are the only row values a profile keeps, so they are kept only for low-cardinality
columns (at most ``profiling.top_values_max_distinct`` distinct values, and at most half as many
distinct values as non-null rows: categories, not people), only values seen in two rows or more,
and never for columns listed in ``profiling.exclude`` (those are not profiled at all).
One row per column plus a ``*`` row carrying the batch's row count. The aggregates come from the
same DuckDB scan that judges the rules (``scan.judge``).
"""

from __future__ import annotations

import json
from typing import Any

from tenantflow.config.quality_rules import Profiling

TABLE_ROW = "*"


def profile_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("pipeline", pa.string()), ("profiled_at", pa.timestamp("us", tz="UTC")),
        ("column", pa.string()), ("type", pa.string()), ("rows", pa.int64()), ("null_count", pa.int64()),
        ("null_rate", pa.float64()), ("distinct_count", pa.int64()), ("distinct_approx", pa.bool_()),
        ("min", pa.float64()),
        ("max", pa.float64()), ("mean", pa.float64()), ("top_values", pa.string()),
    ])


def _numeric(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)


def categorical(distinct: int, values: int, settings: Profiling) -> bool:
    """Low cardinality, in absolute terms and against the batch: categories, not identifiers."""
    return 0 < distinct <= settings.top_values_max_distinct and 2 * distinct <= values


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def profiled_columns(schema: Any, settings: Profiling) -> list[tuple[str, bool]]:
    """(column, numeric) of the columns a profile covers."""
    return [(f.name, _numeric(f.type)) for f in schema if f.name not in settings.exclude]


def profile_from_scan(values: dict[str, Any], scan: Any, settings: Profiling) -> list[dict[str, Any]]:
    """Profile rows (without run id and time, which the store adds) from the aggregates of one DuckDB
    scan. Distinct counts are HyperLogLog estimates (``distinct_approx``) except for a single-column
    ``unique`` key (counted exactly by its rule) and low-cardinality columns, which one more scan
    counts exactly."""
    from tenantflow.quality.scan import histograms

    schema = scan.schema
    rows = int(values["rows"])
    out = [{"column": TABLE_ROW, "type": "table", "rows": rows, "null_count": None, "null_rate": None,
            "distinct_count": None, "distinct_approx": None, "min": None, "max": None, "mean": None,
            "top_values": None}]
    columns = [name for name, _ in profiled_columns(schema, settings)]
    nulls = {name: rows - int(values[f"n:{name}"]) for name in columns}
    distinct = {name: int(values[f"d:{name}"]) for name in columns}
    # low estimates are made exact (and give the top values) by one value-count scan
    candidates = [n for n in columns if 0 < distinct[n] <= 2 * settings.top_values_max_distinct]
    counts = histograms(scan.connection, candidates)
    for name in columns:
        exact = name in counts or bool(values.get(f"exact:{name}"))
        if name in counts:
            distinct[name] = len(counts[name])
        top = None
        if name in counts and categorical(distinct[name], rows - nulls[name], settings):
            pairs = sorted(((v, n) for v, n in counts[name].items() if n >= 2), key=lambda p: (-p[1], str(p[0])))
            top = json.dumps([[_plain(v), n] for v, n in pairs[: settings.top_values]], default=str)
        out.append({"column": name, "type": str(schema.field(name).type), "rows": rows, "null_count": nulls[name],
                    "null_rate": nulls[name] / rows if rows else 0.0, "distinct_count": distinct[name],
                    "distinct_approx": not exact, "min": values.get(f"min:{name}"), "max": values.get(f"max:{name}"),
                    "mean": values.get(f"mean:{name}"), "top_values": top})
    return out


def metric_of(profile_row: dict[str, Any], metric: str) -> float | None:
    """The anomaly metric a stored profile row holds (row_count on '*', null_rate/mean on the column)."""
    kind = metric.partition(":")[0]
    if kind == "row_count":
        return float(profile_row["rows"])
    value = profile_row["null_rate" if kind == "null_rate" else "mean"]
    return None if value is None else float(value)
