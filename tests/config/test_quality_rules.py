"""New quality rules in pipeline YAML: wrong settings are errors naming the file, line, rule and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from tenantflow.config import ConfigErrors, load_tenant
from tenantflow.config.models import QualityRule
from yaml_edits import MINIMAL_PIPELINE

RULE = TypeAdapter(QualityRule)
ORDERS = MINIMAL_PIPELINE + """\
quality:
"""  # the rule under test starts at line 10


def error_of(config_tree: Path, rule_yaml: str, line: int):
    path = config_tree / "tenant_configs" / "finance" / "pipelines" / "orders.yaml"
    path.write_text(ORDERS + textwrap.indent(textwrap.dedent(rule_yaml).lstrip("\n"), "  "), encoding="utf-8")
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(config_tree / "tenant_configs", "finance")
    (error,) = exc.value.errors
    assert (error.file, error.line) == (path, line), error
    return error


@pytest.mark.parametrize(("rule_yaml", "line", "message"), [
    ("- rule: row_count\n  min: 1\n  severity: quarantine\n", 10,
     "rule 'row_count' judges the whole batch, so `severity: quarantine` cannot apply"),
    ("- rule: freshness\n  column: updated_at\n  max_age: 6 hours\n", 12,
     "max_age '6 hours' must be a positive duration like '30m', '6h'"),
    ("- rule: condition\n  expression: __import__('os').system('x')\n", 11,
     "is not '<column> <op> <column or literal>' with op one of == != >= <= > <"),
    ("- rule: condition\n  expression: amount >= amount\n", 11, "compares column 'amount' with itself"),
    ("- rule: unique\n  column: a\n  columns: [a, b]\n", 10, "unique needs exactly one of `column: a` or `columns"),
    ("- rule: schema\n  columns: {amount: money}\n", 11, "'string', 'integer', 'float'"),
    ("- rule: anomaly\n  metric: median:amount\n", 11,
     "must be 'row_count', 'null_rate:<column>' or 'mean:<column>'"),
    ("- rule: anomaly\n  metric: row_count\n  severity: quarantine\n", 12, "'error' or 'warn'"),
    ("- rule: duplicates\n  columns: [a]\n  max_count: 1\n  max_percent: 5\n", 10,
     "`max_count` or `max_percent`, not both"),
], ids=["quarantine-on-table-rule", "duration", "no-eval", "self-compare", "unique-key", "schema-type",
        "anomaly-metric", "anomaly-severity", "duplicates-limits"])
def test_rule_errors_point_at_the_line_and_say_what_is_allowed(config_tree, rule_yaml, line, message):
    error = error_of(config_tree, rule_yaml, line)
    assert message in f"{error.message} {error.hint}", error


def test_quarantine_is_accepted_on_row_level_rules():
    for rule in ({"rule": "not_null", "column": "a"}, {"rule": "unique", "columns": ["a", "b"]},
                 {"rule": "condition", "expression": "end_date >= start_date"},
                 {"rule": "range", "column": "a", "min": 0}, {"rule": "regex", "column": "a", "pattern": "x"},
                 {"rule": "accepted_values", "column": "a", "values": [1]}):
        assert RULE.validate_python({**rule, "severity": "quarantine"}).severity == "quarantine"
    for rule in ({"rule": "schema", "columns": {"a": "integer"}}, {"rule": "duplicates", "columns": ["a"]},
                 {"rule": "freshness", "column": "a", "max_age": "1d"}):
        with pytest.raises(ValidationError, match="cannot apply"):
            RULE.validate_python({**rule, "severity": "quarantine"})


def test_conditions_parse_literals_without_evaluating_them():
    from tenantflow.quality.expressions import parse_condition

    assert str(parse_condition("amount > 0")) == "amount > 0"
    assert parse_condition("status != 'void'").literal == "void"
    assert parse_condition("ratio <= 0.5").literal == 0.5
    assert parse_condition("active == true").literal is True
    assert parse_condition("end_date>=start_date").right_column == "start_date"
    for hostile in ("a > b or 1", "a > b; drop", "len(a) > 1", "a.b > 1", "a > b > c", "a = 1"):
        with pytest.raises(ValueError, match="is not '<column> <op>"):
            parse_condition(hostile)


def test_freshness_max_age_in_seconds():
    rule = RULE.validate_python({"rule": "freshness", "column": "t", "max_age": "6h"})
    assert rule.max_age_seconds == 6 * 3600
