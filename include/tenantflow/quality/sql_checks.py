"""Quality rules and the column profile of a large batch in one DuckDB scan of its Parquet parts.

The batch is never materialised: DuckDB scans the landed parts (a pyarrow Dataset, so local and
S3 landing work alike) and computes every rule's failing-row count, the anomaly metrics and the
profile's aggregates in a single multi-threaded pass. Follow-up queries: one GROUP BY per ``unique``
key unless a cheaper exact count applies (``key_repeats``; the count also gives a single key
column's exact distinct count), ``duplicates``, and the top values of low-cardinality columns.
Rules that need per-row masks (a failed quarantine rule) or a single column (``freshness``,
``schema``) fall back to the Arrow evaluator on just what they need.
Semantics match ``arrow_checks`` (and so GX); tests hold the three engines to the same outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tenantflow.config import quality_rules as q
from tenantflow.quality import key_repeats
from tenantflow.quality.arrow_checks import Check, CheckInputs, NotEvaluable
from tenantflow.quality.expressions import parse_condition


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise NotEvaluable(f"literal {value!r} cannot be compared")
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _failing(condition: str) -> str:
    return f"count(*) FILTER (WHERE {condition})"


def _not_null(rule: q.NotNullRule) -> str:
    return _failing(f"{ident(rule.column)} IS NULL")


def _range(rule: q.RangeRule) -> str:
    col = ident(rule.column)
    parts = ([f"{col} < {literal(rule.min)}"] if rule.min is not None else []) + (
        [f"{col} > {literal(rule.max)}"] if rule.max is not None else [])
    return _failing(" OR ".join(parts))


def _regex(rule: q.RegexRule) -> str:
    return _failing(f"NOT regexp_matches(CAST({ident(rule.column)} AS VARCHAR), {literal(rule.pattern)})")


def _accepted_values(rule: q.AcceptedValuesRule) -> str:
    col = ident(rule.column)
    if all(isinstance(v, str) for v in rule.values):
        col = f"CAST({col} AS VARCHAR)"
    values = ", ".join(literal(v) for v in rule.values)
    return _failing(f"{col} IS NOT NULL AND {col} NOT IN ({values})")


def _condition(rule: q.ConditionRule) -> str:
    c = parse_condition(rule.expression)
    right = ident(c.right_column) if c.right_column else literal(c.literal)
    op = "=" if c.op == "==" else "<>" if c.op == "!=" else c.op
    return _failing(f"NOT ({ident(c.left)} {op} {right})")  # NULL operands: not judged (as GX)


def _anomaly_metric(rule: q.AnomalyRule) -> str:
    kind, _, column = rule.metric.partition(":")
    if kind == "row_count":
        return "count(*)"
    if kind == "null_rate":
        return f"CAST(count(*) - count({ident(column)}) AS DOUBLE) / greatest(count(*), 1)"
    return f"CAST(avg({ident(column)}) AS DOUBLE)"


COUNTS: dict[str, Callable[[Any], str]] = {
    "not_null": _not_null, "range": _range, "regex": _regex,
    "accepted_values": _accepted_values, "condition": _condition, "anomaly": _anomaly_metric,
    "row_count": lambda rule: "count(*)",
}


def rule_columns(rule: Any) -> tuple[str, ...]:
    if rule.rule == "condition":
        return parse_condition(rule.expression).columns
    if rule.rule == "anomaly":
        column = rule.metric.partition(":")[2]
        return (column,) if column else ()
    columns = getattr(rule, "key", None) or getattr(rule, "columns", None)
    if isinstance(columns, tuple) and columns:
        return columns
    column = getattr(rule, "column", None)
    return (column,) if column else ()


def scan(dataset: Any, rules: list[tuple[int, Any]], inputs: CheckInputs,
         profile_columns: list[tuple[str, bool]]) -> tuple[dict[int, Check], dict[str, Any], list[int]]:
    """One scan: ``({rule index: Check}, {profile aggregate: value}, [indexes left to Arrow])``.

    ``profile_columns`` = (column, numeric) pairs to profile: non-null count, approximate distinct
    count, and min/max/mean of numerics.
    """
    import duckdb

    names = set(dataset.schema.names)
    exprs: dict[str, str] = {"rows": "count(*)"}
    in_sql, to_arrow, repeated = [], [], []
    for index, rule in rules:
        missing = [c for c in rule_columns(rule) if c not in names]
        if rule.rule in COUNTS and not missing:
            exprs[f"r{index}"] = COUNTS[rule.rule](rule)
            in_sql.append((index, rule))
        elif rule.rule == "unique" and not missing:
            repeated.append((index, rule))
        else:  # freshness, schema, duplicates, missing columns: Arrow (or a follow-up query below)
            to_arrow.append(index)
    exact_distinct = {rule.key[0] for _, rule in repeated if len(rule.key) == 1}
    for column in exact_distinct:  # an integer key's exact distinct count, in this scan
        if bounds := key_repeats.bitmap_bounds(dataset, column):
            exprs.update(key_repeats.bitmap_expressions(column, bounds))
    for column, numeric in profile_columns:
        col = ident(column)
        exprs[f"n:{column}"] = f"count({col})"
        if column not in exact_distinct:  # else counted exactly by the unique rule (key_repeats)
            exprs[f"d:{column}"] = f"approx_count_distinct({col})"
        if numeric:
            exprs.update({f"{stat}:{column}": f"CAST({stat.replace('mean', 'avg')}({col}) AS DOUBLE)"
                          for stat in ("min", "max", "mean")})
    connection = duckdb.connect()
    _register_batch(connection, dataset)
    select = ", ".join(f"{sql} AS {ident(key)}" for key, sql in exprs.items())
    values = dict(zip(exprs, connection.execute(f"SELECT {select} FROM batch").fetchone(), strict=True))
    rows = int(values["rows"])
    checks: dict[int, Check] = {}
    for index, rule in in_sql:
        value = values[f"r{index}"]
        if rule.rule == "anomaly":
            from tenantflow.quality.anomaly import evaluate_value

            history = inputs.history(rule.metric) if inputs.history else []
            checks[index] = evaluate_value(rule, None if value is None else float(value), history)
        elif rule.rule == "row_count":
            ok = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
            checks[index] = Check(ok, detail=f"observed {rows}")
        else:
            count = int(value or 0)
            checks[index] = Check(count == 0, unexpected_count=count)
    for index, rule in repeated:
        column = rule.key[0]
        flagged, groups = key_repeats.repeats(connection, dataset, rule.key, values)
        checks[index] = Check(flagged == 0, unexpected_count=flagged)
        if len(rule.key) == 1 and f"n:{column}" in values:  # the profile's distinct count, exact
            values[f"d:{column}"] = int(values[f"n:{column}"]) - flagged + groups
            values[f"exact:{column}"] = True
    for index, rule in rules:
        if rule.rule == "duplicates" and all(c in names for c in rule.columns):
            checks[index] = _duplicates(connection, rule, rows)
            to_arrow.remove(index)
    values["connection"] = connection
    return checks, values, to_arrow


def _register_batch(connection: Any, dataset: Any) -> None:
    """``batch`` = the landed parts: DuckDB's own (parallel) Parquet reader for local files, else the Arrow dataset."""
    from pyarrow import fs as pafs

    files = getattr(dataset, "files", None)
    if files and isinstance(getattr(dataset, "filesystem", None), pafs.LocalFileSystem):
        paths = ", ".join(literal(f) for f in files)
        connection.execute(f"CREATE VIEW batch AS SELECT * FROM read_parquet([{paths}], union_by_name = true)")
    else:
        connection.register("batch", dataset)


def _duplicates(connection: Any, rule: q.DuplicatesRule, rows: int) -> Check:
    from tenantflow.quality.arrow_checks import duplicates_verdict

    cols = ", ".join(ident(c) for c in rule.columns)
    distinct = int(connection.execute(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM batch)").fetchone()[0])
    return duplicates_verdict(rule, rows - distinct, rows)


def histograms(connection: Any, columns: list[str]) -> dict[str, dict[Any, int]]:
    """Exact value counts of (low-cardinality) ``columns``, nulls left out, in one scan."""
    if not columns:
        return {}
    select = ", ".join(f"histogram({ident(c)})" for c in columns)
    found = connection.execute(f"SELECT {select} FROM batch").fetchone()
    return {c: {v: n for v, n in (h or {}).items() if v is not None} for c, h in zip(columns, found, strict=True)}
