"""Split a batch on its failed quarantine rules: passing rows load, failing rows are set aside.

A failing row is kept once, with ``_rule`` (the labels of every quarantine rule it failed, '; '
separated), ``_reason`` (why, per rule; never the value itself), ``_run_id`` and ``_quarantined_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenantflow.quality.expectations import describe

QUARANTINE_COLUMNS = ("_rule", "_reason", "_run_id", "_quarantined_at")


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
