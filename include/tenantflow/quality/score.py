"""The quality score of a batch: 0–100, weighted by severity.

    score = 100 · (1 − Σ wᵣ·fᵣ / Σ wᵣ)

over the pipeline's rules r, with weights w = 3 for ``error``, 2 for ``quarantine``, 1 for ``warn``,
and fᵣ the rule's failure fraction: for a row-level rule the share of rows it flags
(unexpected_percent / 100), for a batch-level rule 1 if it failed else 0. A rule that could not be
evaluated counts as failed (f = 1); a rule skipped on an empty batch counts as passed. No rules: 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WEIGHTS = {"error": 3.0, "quarantine": 2.0, "warn": 1.0}


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
