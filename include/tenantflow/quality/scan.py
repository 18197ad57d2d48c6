"""Every tenantflow rule judged by DuckDB in one scan of the batch, with the aggregates of its profile.

The batch is a pyarrow Dataset of the landed Parquet parts (scanned by DuckDB's own parallel
reader for local files, through the Arrow dataset for S3) or an in-memory Arrow table; it is never
materialised for judging. One multi-threaded pass computes every row-level rule's failing-row count
(``sql_rules``), the anomaly metrics, the newest value of each freshness column and the profile's
aggregates. Follow-up queries: one GROUP BY per ``unique`` key unless a cheaper exact count applies
(``key_repeats``), one DISTINCT count per ``duplicates`` rule, and the top values of low-cardinality
columns (``histograms``). ``schema`` is judged on the batch's Arrow schema (the types the batch has,
not the ones DuckDB maps them to).

If the combined query fails (a value DuckDB cannot compare or cast), each rule's expression runs
alone, and the ones that fail are reported "could not evaluate" — never judged by another engine.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantflow.quality import key_repeats
from tenantflow.quality.anomaly import evaluate_value
from tenantflow.quality.report import Check, NotEvaluable
from tenantflow.quality.sql_rules import (
    ROW_RULES,
    anomaly_metric,
    failing_count,
    ident,
    literal,
    newest_value,
    rule_columns,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckInputs:
    """What batch-level rules need besides the batch: the clock and the metric history."""

    now: dt.datetime
    history: Callable[[str], list[float]] | None = None


@dataclass
class Scan:
    """The batch registered in DuckDB as ``batch``, with its Arrow schema."""

    connection: Any
    schema: Any
    dataset: Any = None  # the landed parts, when the batch is a Parquet dataset

    def close(self) -> None:
        self.connection.close()


def open_scan(data: Any) -> Scan:
    """``batch`` = the landed parts (DuckDB's own Parquet reader for local files, else the Arrow
    dataset) or the in-memory table."""
    import duckdb
    import pyarrow.dataset as ds
    from pyarrow import fs as pafs

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # ISO-8601 text without an offset is UTC (freshness)
    if isinstance(data, ds.Dataset):
        files = getattr(data, "files", None)
        if files and isinstance(getattr(data, "filesystem", None), pafs.LocalFileSystem):
            paths = ", ".join(literal(f) for f in files)
            connection.execute(f"CREATE VIEW batch AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
        else:
            connection.register("batch", data)
        return Scan(connection, data.schema, data)
    connection.register("batch", data)
    return Scan(connection, data.schema)


def column_kind(arrow_type: Any) -> str:
    """Our schema vocabulary for an Arrow type (what a `schema` rule names)."""
    import pyarrow as pa

    kinds: list[tuple[Callable[[Any], bool], str]] = [
        (pa.types.is_boolean, "boolean"), (pa.types.is_integer, "integer"), (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "decimal"), (pa.types.is_date, "date"), (pa.types.is_timestamp, "timestamp"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "string"),
        (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), "binary"),
    ]
    return next((kind for test, kind in kinds if test(arrow_type)), str(arrow_type))


def judge(scan: Scan, rules: list[tuple[int, Any]], inputs: CheckInputs,
          profile_columns: list[tuple[str, bool]]) -> tuple[dict[int, Check], dict[str, Any]]:
    """``({rule index: Check}, {aggregate: value})`` of one scan (plus the follow-up queries).

    ``profile_columns`` = (column, numeric) pairs to profile: non-null count, approximate distinct
    count, and min/max/mean of numerics.
    """
    schema, names = scan.schema, set(scan.schema.names)
    exprs: dict[str, str] = {"rows": "count(*)"}
    checks: dict[int, Check] = {}
    repeated, duplicates, aggregated = [], [], []
    for index, rule in rules:
        missing = [c for c in rule_columns(rule) if c not in names]
        if missing:
            checks[index] = Check(False, detail=f"could not evaluate: column {missing[0]!r} is not in the batch "
                                                f"(columns: {', '.join(schema.names)})")
        elif rule.rule == "schema":
            checks[index] = _schema(rule, schema)
        elif rule.rule in ROW_RULES:
            exprs[f"r{index}"] = failing_count(rule, schema)
        elif rule.rule == "unique":
            repeated.append((index, rule))
        elif rule.rule == "duplicates":
            duplicates.append((index, rule))
        else:  # row_count, anomaly, freshness: from the scan's aggregates
            try:
                if rule.rule == "anomaly":
                    exprs[f"r{index}"] = anomaly_metric(rule)
                elif rule.rule == "freshness":
                    exprs[f"r{index}"] = newest_value(rule, schema.field(rule.column).type)
                aggregated.append((index, rule))
            except NotEvaluable as exc:
                checks[index] = Check(False, detail=f"could not evaluate: {exc}")
    exact_distinct = {rule.key[0] for _, rule in repeated if len(rule.key) == 1}
    if scan.dataset is not None:
        for column in exact_distinct:  # an integer key's exact distinct count, in this scan
            if bounds := key_repeats.bitmap_bounds(scan.dataset, column):
                exprs.update(key_repeats.bitmap_expressions(column, bounds))
    for column, numeric in profile_columns:
        col = ident(column)
        exprs[f"n:{column}"] = f"count({col})"
        if column not in exact_distinct:  # else counted exactly by the unique rule (key_repeats)
            exprs[f"d:{column}"] = f"approx_count_distinct({col})"
        if numeric:
            exprs.update({f"{stat}:{column}": f"CAST({stat.replace('mean', 'avg')}({col}) AS DOUBLE)"
                          for stat in ("min", "max", "mean")})
    values = _aggregates(scan.connection, exprs)
    rows = int(values["rows"])
    for key, value in list(values.items()):
        if isinstance(value, _Failed) and key.startswith("r"):
            checks[int(key[1:])] = Check(False, detail=f"could not evaluate: {value} on this batch's data")
    for index, rule in rules:
        if index in checks or rule.rule not in ROW_RULES:
            continue
        count = int(values[f"r{index}"] or 0)
        checks[index] = Check(count == 0, unexpected_count=count)
    for index, rule in aggregated:
        if index not in checks:
            checks[index] = batch_level(rule, values.get(f"r{index}"), rows, inputs)
    for index, rule in repeated:
        flagged, groups = _guarded(lambda r=rule: key_repeats.repeats(scan.connection, scan.dataset, r.key, values))
        if flagged is None:
            checks[index] = Check(False, detail=f"could not evaluate: {groups} on this batch's data")
            continue
        checks[index] = Check(flagged == 0, unexpected_count=flagged)
        column = rule.key[0]
        if len(rule.key) == 1 and f"n:{column}" in values:  # the profile's distinct count, exact
            values[f"d:{column}"] = int(values[f"n:{column}"]) - flagged + groups
            values[f"exact:{column}"] = True
    for index, rule in duplicates:
        checks[index] = _duplicates(scan.connection, rule, rows)
    return checks, values


class _Failed(str):
    """An aggregate DuckDB could not compute (the name of its error: messages may quote row values)."""


def _aggregates(connection: Any, exprs: dict[str, str]) -> dict[str, Any]:
    import duckdb

    def select(items: dict[str, str]) -> list[Any]:
        sql = ", ".join(f"{sql} AS {ident(key)}" for key, sql in items.items())
        return list(connection.execute(f"SELECT {sql} FROM batch").fetchone())

    try:
        return dict(zip(exprs, select(exprs), strict=True))
    except duckdb.Error:  # find the expression(s) that cannot run; the others keep their values
        values: dict[str, Any] = {}
        for key, sql in exprs.items():
            try:
                values[key] = select({key: sql})[0]
            except duckdb.Error as exc:
                log.warning("DuckDB could not compute %s: %s", key, type(exc).__name__)
                values[key] = _Failed(type(exc).__name__)
        return values


def _guarded(query: Callable[[], tuple[int, int]]) -> tuple[Any, Any]:
    import duckdb

    try:
        return query()
    except duckdb.Error as exc:
        return None, type(exc).__name__


def _schema(rule: Any, schema: Any) -> Check:
    actual = {f.name: column_kind(f.type) for f in schema}
    problems = [f"missing {name}" for name in rule.columns if name not in actual]
    problems += [f"{name} is {actual[name]}, expected {kind}" for name, kind in rule.columns.items()
                 if name in actual and actual[name] != kind]
    if rule.exact:
        problems += [f"unexpected column {name}" for name in actual if name not in rule.columns]
    return Check(not problems, unexpected_count=len(problems), detail="; ".join(problems))


def batch_level(rule: Any, value: Any, rows: int, inputs: CheckInputs) -> Check:
    if rule.rule == "row_count":
        ok = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
        return Check(ok, detail=f"observed {rows}")
    if rule.rule == "anomaly":
        history = inputs.history(rule.metric) if inputs.history else []
        return evaluate_value(rule, None if value is None else float(value), history)
    return _freshness(rule, value, inputs.now)


def _freshness(rule: Any, newest: Any, now: dt.datetime) -> Check:
    if newest is None:
        return Check(False, detail=f"{rule.column} has no values")
    if isinstance(newest, dt.date):  # a date is fresh until its end
        newest = dt.datetime.combine(newest, dt.time.max, tzinfo=dt.UTC)
    else:
        newest = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(newest))
    age = (now - newest).total_seconds()
    return Check(age <= rule.max_age_seconds, detail=f"newest value is {_duration(age)} old (max {rule.max_age})")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if abs(seconds) < 3600:
        return f"{seconds // 60}m"
    if abs(seconds) < 172_800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86_400}d"


def _duplicates(connection: Any, rule: Any, rows: int) -> Check:
    """Rows repeating an earlier row's values of ``columns`` (rows minus distinct keys; nulls are values)."""
    cols = ", ".join(ident(c) for c in rule.columns)
    distinct = int(connection.execute(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM batch)").fetchone()[0])
    count = rows - distinct
    percent = 100.0 * count / rows if rows else 0.0
    if rule.max_percent is not None:
        ok, limit = percent <= rule.max_percent, f"max {rule.max_percent}%"
    else:
        ok, limit = count <= (rule.max_count or 0), f"max {rule.max_count or 0}"
    return Check(ok, unexpected_count=count, detail=f"{count} duplicate row(s), {percent:.2f}% ({limit})")


def histograms(connection: Any, columns: list[str]) -> dict[str, dict[Any, int]]:
    """Exact value counts of (low-cardinality) ``columns``, nulls left out, in one scan."""
    if not columns:
        return {}
    select = ", ".join(f"histogram({ident(c)})" for c in columns)
    found = connection.execute(f"SELECT {select} FROM batch").fetchone()
    return {c: {v: n for v, n in (h or {}).items() if v is not None} for c, h in zip(columns, found, strict=True)}
