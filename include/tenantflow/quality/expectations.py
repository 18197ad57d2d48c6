"""Compile pipeline quality rules into Great Expectations 1.x expectations.

A rule with no GX counterpart (``duplicates`` with a tolerance, ``anomaly``, ``condition`` with
``!=`` between columns or ordering on strings) compiles to None and is evaluated in Arrow only
(see ``arrow_checks``). ``schema`` compiles to the column-set check; the types are checked in Arrow
on the batch's real types (pandas would blur them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tenantflow.config import quality_rules as q
from tenantflow.quality.expressions import parse_condition


def _not_null(rule: q.NotNullRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectColumnValuesToNotBeNull(column=rule.column)


def _unique(rule: q.UniqueRule, gxe: Any, now: dt.datetime) -> Any:
    if rule.column:
        return gxe.ExpectColumnValuesToBeUnique(column=rule.column)
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns))


def _range(rule: q.RangeRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.min, max_value=rule.max)


def _regex(rule: q.RegexRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.pattern)


def _accepted_values(rule: q.AcceptedValuesRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.values))


def _condition(rule: q.ConditionRule, gxe: Any, now: dt.datetime) -> Any:
    c = parse_condition(rule.expression)
    if c.right_column:
        pair = {"ignore_row_if": "either_value_is_missing"}
        if c.op in (">", ">="):
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=c.left, column_B=c.right_column, or_equal=c.op == ">=", **pair)
        if c.op in ("<", "<="):
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=c.right_column, column_B=c.left, or_equal=c.op == "<=", **pair)
        if c.op == "==":
            return gxe.ExpectColumnPairValuesToBeEqual(column_A=c.left, column_B=c.right_column, **pair)
        return None
    if c.op == "==":
        return gxe.ExpectColumnValuesToBeInSet(column=c.left, value_set=[c.literal])
    if c.op == "!=":
        return gxe.ExpectColumnValuesToNotBeInSet(column=c.left, value_set=[c.literal])
    if isinstance(c.literal, str | bool):
        return None
    bounds = {">": {"min_value": c.literal, "strict_min": True}, ">=": {"min_value": c.literal},
              "<": {"max_value": c.literal, "strict_max": True}, "<=": {"max_value": c.literal}}[c.op]
    return gxe.ExpectColumnValuesToBeBetween(column=c.left, **bounds)


def _row_count(rule: q.RowCountRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectTableRowCountToBeBetween(min_value=rule.min, max_value=rule.max)


def _schema(rule: q.SchemaRule, gxe: Any, now: dt.datetime) -> Any:
    return gxe.ExpectTableColumnsToMatchSet(column_set=list(rule.columns), exact_match=rule.exact)


def _freshness(rule: q.FreshnessRule, gxe: Any, now: dt.datetime) -> Any:
    cutoff = now - dt.timedelta(seconds=rule.max_age_seconds)
    return gxe.ExpectColumnMaxToBeBetween(column=rule.column, min_value=cutoff)


def _arrow_only(rule: Any, gxe: Any, now: dt.datetime) -> None:
    return None


COMPILERS: dict[str, Callable[[Any, Any, dt.datetime], Any]] = {
    "not_null": _not_null,
    "unique": _unique,
    "range": _range,
    "regex": _regex,
    "accepted_values": _accepted_values,
    "condition": _condition,
    "row_count": _row_count,
    "schema": _schema,
    "freshness": _freshness,
    "duplicates": _arrow_only,
    "anomaly": _arrow_only,
}


def describe(rule: Any) -> str:
    """A short human label for a rule, e.g. 'range(amount)' or 'unique(order_id,line)'."""
    if rule.rule == "condition":
        return f"condition({rule.expression.strip()})"
    if rule.rule == "anomaly":
        return f"anomaly({rule.metric})"
    if rule.rule == "schema":
        return "schema"
    columns = getattr(rule, "columns", None)
    if isinstance(columns, tuple) and columns:
        return f"{rule.rule}({','.join(columns)})"
    column = getattr(rule, "column", None)
    return f"{rule.rule}({column})" if column else rule.rule


def compile_rule(rule: Any, index: int, now: dt.datetime | None = None) -> Any:
    """The GX expectation of ``rule`` (tagged with its index), or None when only Arrow evaluates it."""
    import great_expectations.expectations as gxe

    expectation = COMPILERS[rule.rule](rule, gxe, now or dt.datetime.now(dt.UTC))
    if expectation is not None:
        expectation.meta = {"rule_index": index}
    return expectation
