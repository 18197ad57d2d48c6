"""Compile pipeline quality rules into Great Expectations expectations (one per rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tenantflow.config import models as m


def _not_null(rule: m.NotNullRule, gxe: Any) -> Any:
    return gxe.ExpectColumnValuesToNotBeNull(column=rule.column)


def _unique(rule: m.UniqueRule, gxe: Any) -> Any:
    return gxe.ExpectColumnValuesToBeUnique(column=rule.column)


def _range(rule: m.RangeRule, gxe: Any) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.min, max_value=rule.max)


def _regex(rule: m.RegexRule, gxe: Any) -> Any:
    return gxe.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.pattern)


def _accepted_values(rule: m.AcceptedValuesRule, gxe: Any) -> Any:
    return gxe.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.values))


def _row_count(rule: m.RowCountRule, gxe: Any) -> Any:
    return gxe.ExpectTableRowCountToBeBetween(min_value=rule.min, max_value=rule.max)


COMPILERS: dict[str, Callable[[Any, Any], Any]] = {
    "not_null": _not_null,
    "unique": _unique,
    "range": _range,
    "regex": _regex,
    "accepted_values": _accepted_values,
    "row_count": _row_count,
}


def describe(rule: Any) -> str:
    """A short human label for a rule, e.g. 'range(amount)'."""
    column = getattr(rule, "column", None)
    return f"{rule.rule}({column})" if column else rule.rule


def compile_rule(rule: Any, index: int) -> Any:
    import great_expectations.expectations as gxe

    expectation = COMPILERS[rule.rule](rule, gxe)
    expectation.meta = {"rule_index": index}
    return expectation
