"""Second opinions for the quality tests: Great Expectations and exact Arrow statistics.

Production judges every tenantflow rule with DuckDB (``tenantflow.quality.scan``). These helpers
give an independent answer to hold it to: each rule compiled to the GX 1.x expectation with the
same meaning (where GX has one) and validated by GX on a pandas copy, and the column profile
computed exactly with pyarrow.compute.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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


def _none(rule: Any, gxe: Any, now: dt.datetime) -> None:
    return None


COMPILERS: dict[str, Callable[[Any, Any, dt.datetime], Any]] = {
    "not_null": _not_null, "unique": _unique, "range": _range, "regex": _regex,
    "accepted_values": _accepted_values, "condition": _condition, "row_count": _row_count,
    "schema": _schema, "freshness": _freshness, "duplicates": _none, "anomaly": _none,
}


def gx_expectation(rule: Any, now: dt.datetime | None = None) -> Any:
    """The GX expectation meaning the same as ``rule``, or None when GX has none."""
    import great_expectations.expectations as gxe

    return COMPILERS[rule.rule](rule, gxe, now or dt.datetime.now(dt.UTC))


def gx_verdict(table: Any, rule: Any, now: dt.datetime | None = None) -> tuple[bool, int | None] | None:
    """(success, unexpected count) of ``rule``'s GX expectation on the Arrow ``table``; None when GX has
    no expectation for it or cannot run it on this data. Batch-level rules report no count."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if rule.rule == "schema" and not rule.exact and all(c in table.column_names for c in rule.columns):
        return None  # only the types are in question, and GX on pandas sees pandas dtypes, not the batch's
    expectation = gx_expectation(rule, now)
    if expectation is None:
        return None
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (context.data_sources.add_pandas(name="reference").add_dataframe_asset(name="batch")
             .add_batch_definition_whole_dataframe(name="whole"))
    suite = context.suites.add(gx.ExpectationSuite(name="reference"))
    suite.add_expectation(expectation)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="reference", data=batch, suite=suite))
    (item,) = definition.run(batch_parameters={"dataframe": table.to_pandas()}, result_format="SUMMARY").results
    if (item.exception_info or {}).get("raised_exception"):  # e.g. freshness of a date column: GX cannot judge
        return None
    count = (item.result or {}).get("unexpected_count") if rule.row_level else None
    return bool(item.success), count


def _numeric(arrow_type: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)


def exact_profile(data: Any, settings: q.Profiling) -> dict[str, dict[str, Any]]:
    """The column profile computed exactly with pyarrow.compute, by column (the '*' row: row count)."""
    import pyarrow.compute as pc

    from tenantflow.quality.profiling import categorical

    rows = data.num_rows
    out: dict[str, dict[str, Any]] = {"*": {"column": "*", "rows": rows}}
    for name in data.column_names:
        if name in settings.exclude:
            continue
        column = data[name]
        nulls = column.null_count
        distinct = int(pc.count_distinct(column, mode="only_valid").as_py())
        row: dict[str, Any] = {"column": name, "rows": rows, "null_count": nulls,
                               "null_rate": nulls / rows if rows else 0.0, "distinct_count": distinct,
                               "min": None, "max": None, "mean": None, "top_values": None}
        if _numeric(column.type) and rows > nulls:
            bounds = pc.min_max(column)
            row["min"], row["max"] = float(bounds["min"].as_py()), float(bounds["max"].as_py())
            row["mean"] = float(pc.mean(column).as_py())
        if categorical(distinct, rows - nulls, settings):
            counts = pc.value_counts(column.drop_null())
            pairs = sorted(((v, c) for v, c in zip(counts.field("values").to_pylist(),
                                                   counts.field("counts").to_pylist(), strict=True) if c >= 2),
                           key=lambda p: (-p[1], str(p[0])))
            row["top_values"] = json.dumps([[v, c] for v, c in pairs[: settings.top_values]], default=str)
        out[name] = row
    return out
