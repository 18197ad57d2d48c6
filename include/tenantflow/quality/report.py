"""What a quality run reports: each rule's outcome, the batch's score, and the labels of rules.

Outcomes carry counts, percentages and aggregate observations only — never row values — so they
are safe to log and to push to XCom even when a batch holds personal data.

The score of a batch is 0–100, weighted by severity:

    score = 100 · (1 − Σ wᵣ·fᵣ / Σ wᵣ)

over the pipeline's rules r, with weights w = 3 for ``error``, 2 for ``quarantine``, 1 for ``warn``,
and fᵣ the rule's failure fraction: for a row-level rule the share of rows it flags
(unexpected_percent / 100), for a batch-level rule 1 if it failed else 0. A rule that could not be
evaluated counts as failed (f = 1); a rule skipped on an empty batch counts as passed. No rules: 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

WEIGHTS = {"error": 3.0, "quarantine": 2.0, "warn": 1.0}


@dataclass(frozen=True)
class Check:
    """One engine's judgement of one rule, before it is labelled as an outcome."""

    success: bool
    unexpected_count: int | None = None
    detail: str = ""


class NotEvaluable(ValueError):
    """The rule refers to something the batch does not have (e.g. a missing column)."""


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    severity: str
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    detail: str = ""
    row_level: bool = False
    engine: str = "duckdb"


def outcome(rule: Any, rows: int, check: Check, engine: str) -> RuleOutcome:
    """A rule's outcome; a row-level rule's unexpected percent is its share of the batch's rows."""
    count = check.unexpected_count
    percent = None if count is None or not rule.row_level else (100.0 * count / rows if rows else 0.0)
    return RuleOutcome(describe(rule), rule.severity, bool(check.success), count, percent, check.detail,
                       rule.row_level, engine)


@dataclass(frozen=True)
class QualityReport:
    rows: int
    outcomes: list[RuleOutcome]
    # rule index -> failing-row mask (pa.BooleanArray) of failed quarantine rules, over ``data``
    quarantine_masks: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)
    data: Any = field(default=None, repr=False, compare=False)  # the batch as read, when it was read
    profile: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    data_docs: str | None = None  # URI of the GX Data Docs index.html of this run, when GX ran

    @property
    def errors(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def quarantines(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "quarantine"]

    @property
    def score(self) -> float:
        return quality_score(self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "score": self.score,
            "passed": sum(o.success for o in self.outcomes),
            "failed_error": len(self.errors),
            "failed_warn": len(self.warnings),
            "failed_quarantine": len(self.quarantines),
            "rules": [asdict(o) for o in self.outcomes],
            "data_docs": self.data_docs,
        }

    def summary(self) -> str:
        lines = [f"quality: {self.rows} rows, {len(self.outcomes)} rules, score {self.score:.2f}, "
                 f"{len(self.errors)} error failure(s), {len(self.warnings)} warning(s), "
                 f"{len(self.quarantines)} quarantine rule(s) failed"]
        labels = {"error": "FAIL", "warn": "WARN", "quarantine": "QUARANTINE"}
        for o in self.outcomes:
            status = "PASS" if o.success else labels[o.severity]
            percent = "" if o.unexpected_percent is None else f" ({o.unexpected_percent:.2f}%)"
            counts = "" if o.unexpected_count is None else f" — {o.unexpected_count} unexpected{percent}"
            detail = f" — {o.detail}" if o.detail else ""
            lines.append(f"  [{status}] {o.rule} severity={o.severity} engine={o.engine}{counts}{detail}")
        if self.data_docs:
            lines.append(f"  GX Data Docs: {self.data_docs}")
        return "\n".join(lines)


def describe(rule: Any) -> str:
    """A short human label for a rule, e.g. 'range(amount)', 'unique(order_id,line)' or
    'gx:expect_column_values_to_be_unique(sku)'."""
    if getattr(rule, "gx", None):
        columns = ",".join(rule.columns)
        return f"gx:{rule.gx}({columns})" if columns else f"gx:{rule.gx}"
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


def failure_fraction(outcome: Any) -> float:
    if outcome.success:
        return 0.0
    if outcome.row_level and outcome.unexpected_percent is not None:
        return min(1.0, max(0.0, outcome.unexpected_percent / 100.0))
    return 1.0


def quality_score(outcomes: Sequence[Any]) -> float:
    total = sum(WEIGHTS[o.severity] for o in outcomes)
    if not total:
        return 100.0
    lost = sum(WEIGHTS[o.severity] * failure_fraction(o) for o in outcomes)
    return round(100.0 * (1.0 - lost / total), 2)
