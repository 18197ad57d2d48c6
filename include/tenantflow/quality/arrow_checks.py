"""Quality rules evaluated with Arrow compute: per-row failure masks and batch-level verdicts.

This is the fast path for large batches and the source of the failing rows a quarantine rule
sets aside. Semantics follow the Great Expectations expectations each rule compiles to (nulls do
not fail value rules; ``unique`` flags every row of a repeated key), and tests hold both engines
to the same outcome for every rule type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantflow.config import quality_rules as q
from tenantflow.quality.expressions import parse_condition


@dataclass(frozen=True)
class Check:
    success: bool
    unexpected_count: int | None = None
    detail: str = ""
    failing: Any = None  # pa.BooleanArray: True where a row fails (row-level rules only)


class NotEvaluable(ValueError):
    """The rule refers to something the batch does not have (e.g. a missing column)."""


def _column(data: Any, name: str) -> Any:
    if name not in data.column_names:
        raise NotEvaluable(f"column {name!r} is not in the batch (columns: {', '.join(data.column_names)})")
    return data[name].combine_chunks() if data[name].num_chunks != 1 else data[name].chunk(0)


def _rows(mask: Any) -> Check:
    import pyarrow.compute as pc

    mask = pc.fill_null(mask, False)
    count = int(pc.sum(mask).as_py() or 0)
    return Check(success=count == 0, unexpected_count=count, failing=mask)


def _not_null(rule: q.NotNullRule, data: Any, _: Any) -> Check:
    import pyarrow.compute as pc

    return _rows(pc.is_null(_column(data, rule.column)))


def _unique(rule: q.UniqueRule, data: Any, _: Any) -> Check:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_column(data, c) for c in rule.key]
    if len(columns) == 1:  # every row whose (non-null) value occurs more than once
        counts = pc.value_counts(columns[0])
        repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        return _rows(pc.is_in(columns[0], value_set=repeated))
    frame = pa.table(dict(zip(rule.key, columns, strict=True))).to_pandas()
    repeated = frame.duplicated(keep=False).to_numpy()
    all_missing = frame.isna().all(axis=1).to_numpy()  # GX ignores rows whose key is entirely missing
    return _rows(pa.array(repeated & ~all_missing))


def _range(rule: q.RangeRule, data: Any, _: Any) -> Check:
    import pyarrow.compute as pc

    column = _column(data, rule.column)
    low = pc.less(column, rule.min) if rule.min is not None else None
    high = pc.greater(column, rule.max) if rule.max is not None else None
    mask = low if high is None else high if low is None else pc.or_kleene(low, high)
    return _rows(mask)


def _regex(rule: q.RegexRule, data: Any, _: Any) -> Check:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _column(data, rule.column)
    text = column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) \
        else column.cast(pa.string())
    try:
        matches = pc.match_substring_regex(text, rule.pattern)
    except pa.ArrowInvalid:  # Python-only syntax (e.g. look-behind) that RE2 lacks
        import re

        pattern = re.compile(rule.pattern)
        matches = pa.array([None if v is None else bool(pattern.search(v)) for v in text.to_pylist()])
    return _rows(pc.invert(matches))


def _accepted_values(rule: q.AcceptedValuesRule, data: Any, _: Any) -> Check:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _column(data, rule.column)
    try:
        values = pa.array(list(rule.values)).cast(column.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        column, values = column.cast(pa.string()), pa.array([str(v) for v in rule.values])
    return _rows(pc.and_kleene(pc.invert(pc.is_in(column, value_set=values)), pc.is_valid(column)))


_COMPARE = {"==": "equal", "!=": "not_equal", ">": "greater", ">=": "greater_equal", "<": "less",
            "<=": "less_equal"}


def _condition(rule: q.ConditionRule, data: Any, _: Any) -> Check:
    import pyarrow.compute as pc

    condition = parse_condition(rule.expression)
    left = _column(data, condition.left)
    right = _column(data, condition.right_column) if condition.right_column else condition.literal
    holds = getattr(pc, _COMPARE[condition.op])(left, right)
    return _rows(pc.invert(holds))  # null operands: the condition is not judged (GX: ignore missing)


def _row_count(rule: q.RowCountRule, data: Any, _: Any) -> Check:
    rows = data.num_rows
    ok = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
    return Check(ok, detail=f"observed {rows}")


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


def _schema(rule: q.SchemaRule, data: Any, _: Any) -> Check:
    actual = {f.name: column_kind(f.type) for f in data.schema}
    problems = [f"missing {name}" for name in rule.columns if name not in actual]
    problems += [f"{name} is {actual[name]}, expected {kind}" for name, kind in rule.columns.items()
                 if name in actual and actual[name] != kind]
    if rule.exact:
        problems += [f"unexpected column {name}" for name in actual if name not in rule.columns]
    return Check(not problems, unexpected_count=len(problems), detail="; ".join(problems))


def newest_timestamp(column: Any) -> dt.datetime | None:
    """The newest value of a timestamp/date (or ISO-8601 string) column, as an aware UTC datetime."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.timestamp("us", tz="UTC"))
    newest = pc.max(column).as_py()
    if newest is None:
        return None
    if isinstance(newest, dt.datetime):
        return newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC)
    if isinstance(newest, dt.date):
        return dt.datetime.combine(newest, dt.time.max, tzinfo=dt.UTC)
    raise NotEvaluable(f"column type {column.type} is not a date or timestamp")


def _freshness(rule: q.FreshnessRule, data: Any, checks: Any) -> Check:
    newest = newest_timestamp(_column(data, rule.column))
    if newest is None:
        return Check(False, detail=f"{rule.column} has no values")
    age = (checks.now - newest).total_seconds()
    ok = age <= rule.max_age_seconds
    return Check(ok, detail=f"newest value is {_duration(age)} old (max {rule.max_age})")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if abs(seconds) < 3600:
        return f"{seconds // 60}m"
    if abs(seconds) < 172_800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86_400}d"


def duplicate_count(data: Any, columns: tuple[str, ...]) -> int:
    """Rows repeating an earlier row's values of ``columns`` (rows minus distinct keys; nulls are values)."""
    for name in columns:
        _column(data, name)
    distinct = data.select(list(columns)).group_by(list(columns)).aggregate([]).num_rows
    return data.num_rows - distinct


def duplicates_verdict(rule: q.DuplicatesRule, count: int, rows: int) -> Check:
    percent = 100.0 * count / rows if rows else 0.0
    if rule.max_percent is not None:
        ok, limit = percent <= rule.max_percent, f"max {rule.max_percent}%"
    else:
        ok, limit = count <= (rule.max_count or 0), f"max {rule.max_count or 0}"
    return Check(ok, unexpected_count=count, detail=f"{count} duplicate row(s), {percent:.2f}% ({limit})")


def _duplicates(rule: q.DuplicatesRule, data: Any, _: Any) -> Check:
    return duplicates_verdict(rule, duplicate_count(data, rule.columns), data.num_rows)


def _anomaly(rule: q.AnomalyRule, data: Any, checks: Any) -> Check:
    from tenantflow.quality.anomaly import evaluate

    return evaluate(rule, data, checks.history(rule.metric) if checks.history else [])


EVALUATORS: dict[str, Callable[[Any, Any, Any], Check]] = {
    "not_null": _not_null, "unique": _unique, "range": _range, "regex": _regex,
    "accepted_values": _accepted_values, "condition": _condition, "row_count": _row_count,
    "schema": _schema, "freshness": _freshness, "duplicates": _duplicates, "anomaly": _anomaly,
}


@dataclass(frozen=True)
class CheckInputs:
    """What batch-level rules need besides the batch: the clock and the metric history."""

    now: dt.datetime
    history: Callable[[str], list[float]] | None = None


def evaluate(rule: Any, data: Any, inputs: CheckInputs) -> Check:
    try:
        return EVALUATORS[rule.rule](rule, data, inputs)
    except NotEvaluable as exc:
        return Check(False, detail=f"could not evaluate: {exc}")
    except (ValueError, TypeError, NotImplementedError) as exc:  # Arrow's errors derive from these
        # Arrow's messages may quote row values: name the failure only
        return Check(False, detail=f"could not evaluate: {type(exc).__name__} on this batch's data")
