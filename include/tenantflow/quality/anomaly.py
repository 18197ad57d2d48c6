"""Anomaly rules: a batch metric against its trailing history, by robust z-score (median and MAD).

    z = 0.6745 · (x − median(history)) / MAD,   MAD = median(|h − median(history)|)

0.6745 scales the MAD to the standard deviation of normal data, so ``sensitivity: 3.5`` (the
default, Iglewicz & Hoaglin) means "3.5 standard deviations away". A history with MAD 0 (all runs
equal) fires on any change. With fewer than ``min_history`` runs the rule passes with
"insufficient history". The metric itself is computed by the DuckDB scan (``sql_rules.anomaly_metric``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from tenantflow.config.quality_rules import AnomalyRule
from tenantflow.quality.report import Check

MAD_TO_SIGMA = 0.6745


def robust_z(value: float, history: Sequence[float]) -> float:
    median = statistics.median(history)
    mad = statistics.median(abs(h - median) for h in history)
    if mad == 0:
        return 0.0 if value == median else math.copysign(math.inf, value - median)
    return MAD_TO_SIGMA * (value - median) / mad


def evaluate_value(rule: AnomalyRule, value: float | None, history: Sequence[float]) -> Check:
    history = list(history)[-rule.window:]
    if len(history) < rule.min_history:
        return Check(True, detail=f"insufficient history ({len(history)} of {rule.min_history} runs)")
    if value is None:
        return Check(True, detail=f"{rule.metric} has no value in this batch")
    z = robust_z(value, history)
    median = statistics.median(history)
    detail = f"{rule.metric}={value:.6g}, median {median:.6g} over {len(history)} runs, robust z {z:.2f}"
    return Check(abs(z) <= rule.sensitivity, detail=f"{detail} (sensitivity {rule.sensitivity})")
