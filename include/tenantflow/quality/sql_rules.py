"""Each tenantflow rule as DuckDB SQL over the batch (relation ``batch``): what the one scan computes.

A row-level rule is the count of its failing rows (``count(*) FILTER (WHERE <fails>)``); batch-level
rules are aggregates (``count(*)``, the anomaly metric, the newest value of a freshness column).
Semantics (tests hold GX to them where GX has the same expectation): nulls do not fail value rules
(``not_null`` aside); a condition with a null operand is not judged; NaN is a value — greater than
every number and equal to itself, as DuckDB orders floats — so a NaN is outside every ``range``.
The Arrow masks of failed quarantine rules (``quarantine.failing_rows``) mirror these tests row by row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tenantflow.config import quality_rules as q
from tenantflow.quality.expressions import parse_condition
from tenantflow.quality.report import NotEvaluable


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


def _not_null(rule: q.NotNullRule, schema: Any) -> str:
    return f"{ident(rule.column)} IS NULL"


def _range(rule: q.RangeRule, schema: Any) -> str:
    col = ident(rule.column)
    parts = ([f"{col} < {literal(rule.min)}"] if rule.min is not None else []) + (
        [f"{col} > {literal(rule.max)}"] if rule.max is not None else [])
    return " OR ".join(parts)


def _regex(rule: q.RegexRule, schema: Any) -> str:
    return f"NOT regexp_matches(CAST({ident(rule.column)} AS VARCHAR), {literal(rule.pattern)})"


def _accepted_values(rule: q.AcceptedValuesRule, schema: Any) -> str:
    col = ident(rule.column)
    if compared_as_text(rule, schema.field(rule.column).type):
        col = f"CAST({col} AS VARCHAR)"
        values = ", ".join(literal(str(v)) for v in rule.values)
    else:
        values = ", ".join(literal(v) for v in rule.values)
    return f"{col} IS NOT NULL AND {col} NOT IN ({values})"


def _condition(rule: q.ConditionRule, schema: Any) -> str:
    c = parse_condition(rule.expression)
    right = ident(c.right_column) if c.right_column else literal(c.literal)
    op = "=" if c.op == "==" else "<>" if c.op == "!=" else c.op
    return f"NOT ({ident(c.left)} {op} {right})"  # NULL operands: NOT NULL is NULL, not counted


def compared_as_text(rule: q.AcceptedValuesRule, arrow_type: Any) -> bool:
    """Text values, or a text column: both sides compared as text (no cast of the column's values)."""
    import pyarrow as pa

    return any(isinstance(v, str) for v in rule.values) or pa.types.is_string(arrow_type) \
        or pa.types.is_large_string(arrow_type)


ROW_RULES: dict[str, Callable[[Any, Any], str]] = {
    "not_null": _not_null, "range": _range, "regex": _regex, "accepted_values": _accepted_values,
    "condition": _condition,
}


def failing_count(rule: Any, schema: Any) -> str:
    """The failing-row count of a row-level rule (``schema``: the batch's Arrow schema)."""
    return f"count(*) FILTER (WHERE {ROW_RULES[rule.rule](rule, schema)})"


def anomaly_metric(rule: q.AnomalyRule) -> str:
    kind, _, column = rule.metric.partition(":")
    if kind == "row_count":
        return "count(*)"
    if kind == "null_rate":
        return f"CAST(count(*) - count({ident(column)}) AS DOUBLE) / greatest(count(*), 1)"
    return f"CAST(avg({ident(column)}) AS DOUBLE)"


def newest_value(rule: q.FreshnessRule, arrow_type: Any) -> str:
    """The newest value of a freshness column: epoch microseconds (UTC) of a timestamp or ISO-8601
    text, or the date itself; naive timestamps are taken as UTC."""
    import pyarrow as pa

    col = ident(rule.column)
    if pa.types.is_timestamp(arrow_type):
        return f"epoch_us(max({col}))"
    if pa.types.is_date(arrow_type):
        return f"max({col})"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return f"epoch_us(max(CAST({col} AS TIMESTAMPTZ)))"
    raise NotEvaluable(f"column type {arrow_type} is not a date or timestamp")


def rule_columns(rule: Any) -> tuple[str, ...]:
    if rule.rule == "condition":
        return parse_condition(rule.expression).columns
    if rule.rule == "anomaly":
        column = rule.metric.partition(":")[2]
        return (column,) if column else ()
    if rule.rule == "schema":
        return ()  # judged on the schema: a missing column is its finding, not an error
    columns = getattr(rule, "key", None) or getattr(rule, "columns", None)
    if isinstance(columns, tuple) and columns:
        return columns
    column = getattr(rule, "column", None)
    return (column,) if column else ()
