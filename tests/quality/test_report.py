"""The quality score follows the documented formula: 100 · (1 − Σ w·f / Σ w), w = 3/2/1 for error/quarantine/warn."""

from __future__ import annotations

import pyarrow as pa
from pydantic import TypeAdapter

from tenantflow.config.models import QualityRule
from tenantflow.quality.runner import run_quality

RULES = TypeAdapter(list[QualityRule])


def test_score_weights_failures_by_severity_and_share_of_rows():
    batch = pa.table({"id": list(range(10)), "amount": [float(i) for i in range(10)],
                      "email": ["x@example.com"] * 8 + [None, None]})
    rules = RULES.validate_python([
        {"rule": "not_null", "column": "id"},                                        # error, passes: f=0
        {"rule": "range", "column": "amount", "max": 7, "severity": "quarantine"},   # 2 of 10 rows: f=0.2
        {"rule": "not_null", "column": "email", "severity": "warn"},                 # 2 of 10 rows: f=0.2
        {"rule": "row_count", "min": 11, "severity": "warn"},                        # batch rule failed: f=1
    ])
    report = run_quality(batch, rules, suite_name="t")
    expected = 100 * (1 - (3 * 0 + 2 * 0.2 + 1 * 0.2 + 1 * 1) / (3 + 2 + 1 + 1))
    assert report.score == round(expected, 2) == 77.14
    assert report.as_dict()["score"] == 77.14


def test_all_rules_passing_or_none_at_all_scores_100():
    batch = pa.table({"id": [1, 2]})
    assert run_quality(batch, RULES.validate_python([{"rule": "unique", "column": "id"}]), "t").score == 100.0
    assert run_quality(batch, [], "t").score == 100.0


def test_an_error_rule_that_cannot_be_evaluated_costs_its_full_weight():
    batch = pa.table({"id": [1, 2]})
    rules = RULES.validate_python([{"rule": "not_null", "column": "gone"}, {"rule": "not_null", "column": "id",
                                                                            "severity": "warn"}])
    assert run_quality(batch, rules, "t").score == round(100 * (1 - 3 / 4), 2)
