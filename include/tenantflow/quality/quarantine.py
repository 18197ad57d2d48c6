"""Quarantine: which rows failed a quarantine rule, the split of the batch on them, and their expiry.

* **Failing rows** (``failing_rows``): the Arrow mask of one failed quarantine rule — the only use of
  Arrow compute in quality. It mirrors the rule's DuckDB test (``sql_rules``) row by row, so the rows
  set aside are exactly the ones the verdict counted (tests hold the counts equal).
* **Split** (``split_batch``): passing rows load, failing rows are set aside. A failing row is kept
  once, with ``_rule`` (the labels of every quarantine rule it failed, '; ' separated), ``_reason``
  (why, per rule; never the value itself), ``_run_id`` and ``_quarantined_at``.
* **Retention** (``expire_quarantine``): delete the quarantined rows older than the pipeline's
  maximum age, by ``_quarantined_at``. The delete is one Iceberg commit (whole files dropped, partly
  old files rewritten); the old rows stay readable through earlier snapshots until snapshot expiry
  removes those, so the maximum age of a quarantined row is this age plus the table's
  ``snapshot_retention.expire_after``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantflow.quality.expressions import parse_condition
from tenantflow.quality.report import describe
from tenantflow.quality.sql_rules import compared_as_text

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ("_rule", "_reason", "_run_id", "_quarantined_at")
QUARANTINED_AT = QUARANTINE_COLUMNS[-1]
EXPIRED_ROWS = "tenantflow.expired-quarantine-rows"
CUTOFF = "tenantflow.expired-quarantine-before"


def _column(data: Any, name: str) -> Any:
    return data[name].combine_chunks() if data[name].num_chunks != 1 else data[name].chunk(0)


def _not_null(rule: Any, data: Any) -> Any:
    import pyarrow.compute as pc

    return pc.is_null(_column(data, rule.column))


def _unique(rule: Any, data: Any) -> Any:
    """Every row whose key (nulls equal, as in DuckDB's GROUP BY) occurs more than once; rows whose
    key is entirely missing are not judged."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = data.select(list(rule.key)).append_column("__row", pa.array(np.arange(data.num_rows)))
    keyed = pc.invert(pc.and_(*[pc.is_null(keys[c]) for c in rule.key])) if len(rule.key) > 1 \
        else pc.is_valid(keys[rule.key[0]])
    groups = keys.filter(keyed).group_by(list(rule.key)).aggregate([("__row", "list"), ("__row", "count")])
    repeated = groups.filter(pc.greater(groups["__row_count"], 1))["__row_list"]
    mask = np.zeros(data.num_rows, dtype=bool)
    mask[pc.list_flatten(repeated).to_numpy()] = True
    return pa.array(mask)


def _nan_last(column: Any) -> Any:
    """NaN as DuckDB orders it: above every number (so +inf stands in for it against finite bounds)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(column.type):
        return column
    return pc.if_else(pc.is_nan(column), pa.scalar(float("inf"), column.type), column)


def _range(rule: Any, data: Any) -> Any:
    import pyarrow.compute as pc

    column = _nan_last(_column(data, rule.column))
    low = pc.less(column, rule.min) if rule.min is not None else None
    high = pc.greater(column, rule.max) if rule.max is not None else None
    return low if high is None else high if low is None else pc.or_kleene(low, high)


def _regex(rule: Any, data: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _column(data, rule.column)
    text = column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) \
        else column.cast(pa.string())
    return pc.invert(pc.match_substring_regex(text, rule.pattern))  # RE2, as DuckDB's regexp_matches


def _accepted_values(rule: Any, data: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _column(data, rule.column)
    if compared_as_text(rule, column.type):
        column, values = column.cast(pa.string()), pa.array([str(v) for v in rule.values])
    else:
        values = pa.array(list(rule.values)).cast(column.type)
    return pc.and_kleene(pc.invert(pc.is_in(column, value_set=values)), pc.is_valid(column))


_COMPARE = {"==": "equal", "!=": "not_equal", ">": "greater", ">=": "greater_equal", "<": "less",
            "<=": "less_equal"}


def _condition(rule: Any, data: Any) -> Any:
    import pyarrow.compute as pc

    condition = parse_condition(rule.expression)
    left = _nan_last(_column(data, condition.left))
    right = _nan_last(_column(data, condition.right_column)) if condition.right_column else condition.literal
    return pc.invert(getattr(pc, _COMPARE[condition.op])(left, right))  # null operands: not judged


MASKS: dict[str, Callable[[Any, Any], Any]] = {
    "not_null": _not_null, "unique": _unique, "range": _range, "regex": _regex,
    "accepted_values": _accepted_values, "condition": _condition,
}


def failing_rows(rule: Any, data: Any) -> Any:
    """The failing-row mask (pa.BooleanArray, no nulls) of a row-level ``rule`` over the table ``data``."""
    import pyarrow.compute as pc

    return pc.fill_null(MASKS[rule.rule](rule, data), False)


def _bounds(rule: Any) -> str:
    low = "-inf" if rule.min is None else f"{rule.min:g}"
    high = "inf" if rule.max is None else f"{rule.max:g}"
    return f"[{low}, {high}]"


REASONS: dict[str, Callable[[Any], str]] = {
    "not_null": lambda r: f"{r.column} is null",
    "unique": lambda r: f"{', '.join(r.key)} repeats in another row of the batch",
    "range": lambda r: f"{r.column} is outside {_bounds(r)}",
    "regex": lambda r: f"{r.column} does not match the pattern {r.pattern}",
    "accepted_values": lambda r: f"{r.column} is not one of the {len(r.values)} accepted values",
    "condition": lambda r: f"condition {r.expression.strip()} does not hold",
}


@dataclass(frozen=True)
class Split:
    passing: Any  # pa.Table: the rows to load
    failing: Any  # pa.Table: the failing rows plus the quarantine columns


def split_batch(data: Any, rules: list[Any], masks: dict[int, Any], *, run_id: str, now: dt.datetime) -> Split:
    import pyarrow as pa
    import pyarrow.compute as pc

    labels = [describe(rules[i]) for i in sorted(masks)]
    reasons = [REASONS[rules[i].rule](rules[i]) for i in sorted(masks)]
    stacked = [masks[i].to_numpy(zero_copy_only=False) for i in sorted(masks)]
    any_failed = pa.array(stacked[0].copy())
    for mask in stacked[1:]:
        any_failed = pc.or_(any_failed, pa.array(mask))
    failing = data.filter(any_failed)
    picked = [m[any_failed.to_numpy(zero_copy_only=False)] for m in stacked]
    hits_per_row = list(zip(*picked, strict=True))
    rule_col = ["; ".join(label for label, hit in zip(labels, hits, strict=True) if hit) for hits in hits_per_row]
    reason_col = ["; ".join(reason for reason, hit in zip(reasons, hits, strict=True) if hit)
                  for hits in hits_per_row]
    n = failing.num_rows
    failing = (failing.append_column("_rule", pa.array(rule_col, pa.string()))
               .append_column("_reason", pa.array(reason_col, pa.string()))
               .append_column("_run_id", pa.array([run_id] * n, pa.string()))
               .append_column("_quarantined_at", pa.array([now] * n, pa.timestamp("us", tz="UTC"))))
    return Split(passing=data.filter(pc.invert(any_failed)), failing=failing)


def expire_quarantine(
    table: Table,
    max_age: dt.timedelta,
    now: dt.datetime | None = None,
    *,
    snapshot_properties: Mapping[str, str] | None = None,
) -> int:
    """Delete the rows of the quarantine ``table`` quarantined more than ``max_age`` before ``now``.

    Returns the number of rows deleted; nothing is committed when no row is that old. The commit's
    snapshot summary carries ``snapshot_properties`` (the caller's run state) plus the cutoff and count.
    """
    from pyiceberg.expressions import LessThan

    if max_age <= dt.timedelta(0):
        raise ValueError(f"quarantine max_age must be positive, got {max_age}")
    if QUARANTINED_AT not in {field.name for field in table.schema().fields}:
        raise ValueError(f"table {'.'.join(table.name())} has no {QUARANTINED_AT!r} column: not a quarantine table")
    now = now or dt.datetime.now(dt.UTC)
    cutoff = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)) - max_age
    older = LessThan(QUARANTINED_AT, cutoff.astimezone(dt.UTC).isoformat())
    rows = table.scan(row_filter=older, selected_fields=(QUARANTINED_AT,)).to_arrow().num_rows
    if rows == 0:
        return 0
    properties = {**(snapshot_properties or {}), EXPIRED_ROWS: str(rows), CUTOFF: cutoff.isoformat()}
    table.delete(delete_filter=older, snapshot_properties=properties)
    log.info("%s: deleted %d quarantined row(s) older than %s", ".".join(table.name()), rows, max_age)
    return rows
