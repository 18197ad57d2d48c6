"""Quality rules compiled to Great Expectations: pass and fail where they should, values never leak."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import TypeAdapter

from tenantflow.config.models import QualityRule
from tenantflow.quality.runner import run_quality

RULES = TypeAdapter(list[QualityRule])


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame({
        "id": [1, 2, 3, 4],
        "email": ["a@example.com", "b@example.com", "c@example.com", "secret.person@example.com"],
        "amount": [10.0, 20.0, 30.0, 40.0],
        "status": ["placed", "shipped", "placed", "refunded"],
    })


CASES = [
    ({"rule": "not_null", "column": "id"}, True),
    ({"rule": "unique", "column": "id"}, True),
    ({"rule": "unique", "column": "status"}, False),
    ({"rule": "range", "column": "amount", "min": 0, "max": 40}, True),
    ({"rule": "range", "column": "amount", "max": 35}, False),
    ({"rule": "regex", "column": "email", "pattern": r"^[a-z.]+@example\.com$"}, True),
    ({"rule": "regex", "column": "email", "pattern": r"^[a-c]@"}, False),
    ({"rule": "accepted_values", "column": "status", "values": ["placed", "shipped", "refunded"]}, True),
    ({"rule": "accepted_values", "column": "status", "values": ["placed"]}, False),
    ({"rule": "row_count", "min": 4, "max": 4}, True),
    ({"rule": "row_count", "min": 5}, False),
]


@pytest.mark.parametrize(("rule", "passes"), CASES, ids=[f"{c[0]['rule']}-{c[1]}" for c in CASES])
def test_rule_outcome(frame, rule, passes):
    report = run_quality(frame, RULES.validate_python([rule]), suite_name="t")
    assert report.outcomes[0].success is passes, report.summary()


def test_severity_splits_errors_and_warnings(frame):
    rules = RULES.validate_python([
        {"rule": "range", "column": "amount", "max": 35},
        {"rule": "unique", "column": "status", "severity": "warn"},
        {"rule": "not_null", "column": "id"},
    ])
    report = run_quality(frame, rules, suite_name="t")
    assert [o.rule for o in report.errors] == ["range(amount)"]
    assert [o.rule for o in report.warnings] == ["unique(status)"]
    assert report.errors[0].unexpected_count == 1
    summary = report.as_dict()
    assert summary["failed_error"] == 1 and summary["failed_warn"] == 1 and summary["passed"] == 1


def test_missing_column_fails_with_a_reason(frame):
    report = run_quality(frame, RULES.validate_python([{"rule": "not_null", "column": "nope"}]), suite_name="t")
    assert not report.outcomes[0].success
    assert "could not evaluate" in report.outcomes[0].detail


def test_report_never_contains_row_values(frame):
    rules = RULES.validate_python([{"rule": "regex", "column": "email", "pattern": r"^[a-c]@"}])
    report = run_quality(frame, rules, suite_name="t")
    assert "secret.person" not in report.summary() and "secret.person" not in repr(report.as_dict())


def test_an_empty_batch_skips_column_rules_but_checks_row_count():
    rules = RULES.validate_python([{"rule": "not_null", "column": "id"}, {"rule": "row_count", "min": 1}])
    report = run_quality(pd.DataFrame(), rules, suite_name="t")
    by_rule = {o.rule: o for o in report.outcomes}
    assert by_rule["not_null(id)"].success and "skipped" in by_rule["not_null(id)"].detail
    assert not by_rule["row_count"].success


def test_a_rule_duckdb_cannot_compute_fails_alone_without_quoting_values():
    import pyarrow as pa

    batch = pa.table({"id": [1, 2, None], "code": ["secret-a", "secret-b", "secret-c"]})
    rules = RULES.validate_python([
        {"rule": "condition", "expression": "code > 5"},  # text against a number: DuckDB cannot cast
        {"rule": "not_null", "column": "id"},
        {"rule": "range", "column": "id", "max": 1, "severity": "quarantine"},
    ])
    report = run_quality(batch, rules, suite_name="t")
    broken, not_null, in_range = report.outcomes
    assert not broken.success and broken.detail.startswith("could not evaluate: ") and "secret" not in broken.detail
    assert broken.engine == "duckdb" and broken.unexpected_count is None
    assert (not_null.success, not_null.unexpected_count) == (False, 1)  # the other rules keep their verdicts
    assert (in_range.success, in_range.unexpected_count) == (False, 1)
    assert list(report.quarantine_masks) == [2]
