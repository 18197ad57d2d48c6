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


# --------------------------------------------------------------------------- GX expectations


@pytest.mark.parametrize(("item_yaml", "line", "field", "message"), [
    ("- gx: expect_column_value_lengths_to_be_betwen\n  kwargs: {column: sku}\n", 10, "quality.0.gx",
     "did you mean 'expect_column_value_lengths_to_be_between'?"),
    ("- gx: expect_column_value_lengths_to_be_between\n  kwargs:\n    column: sku\n    min_valu: 3\n", 13,
     "quality.0.kwargs.min_valu", "has no argument `min_valu` (did you mean `min_value`?"),
    ("- gx: expect_column_value_lengths_to_be_between\n  kwargs:\n    min_value: 3\n", 11, "quality.0.kwargs",
     "expect_column_value_lengths_to_be_between needs `column` in `kwargs`"),
    ("- gx: expect_column_values_to_be_unique\n  kwargs: {column: sku}\n  severity: quarantine\n", 12,
     "quality.0.severity", "a GX expectation cannot quarantine rows"),
    ("- gx: expect_column_values_to_be_unique\n  kwargs:\n    column: sku\n    row_condition: 'a > 1'\n", 13,
     "quality.0.kwargs.row_condition", "`row_condition` is not offered"),
    ("- gx: unexpected_rows_expectation\n  kwargs: {unexpected_rows_query: 'SELECT 1'}\n", 10, "quality.0.gx",
     "is not a Great Expectations expectation"),
    ("- gx: expect_column_values_to_be_unique\n  kwargs: {column: sku}\n  sevrity: warn\n", 12,
     "quality.0.sevrity", "unknown field"),
    ("- column: sku\n", 10, "quality.0", "Unable to extract tag"),
], ids=["unknown-expectation", "unknown-kwarg", "missing-kwarg", "no-quarantine", "no-row-condition", "sql-only",
        "unknown-field", "neither-rule-nor-gx"])
def test_gx_expectation_errors_point_at_the_line(config_tree, item_yaml, line, field, message):
    error = error_of(config_tree, item_yaml, line)
    assert error.field == field, error
    assert message in f"{error.message} {error.hint}", error


def test_misspelt_fields_of_a_gx_item_suggest_its_own_fields(config_tree):
    error = error_of(config_tree, "- gx: expect_column_values_to_be_unique\n  kwargz: {column: sku}\n", 11)
    assert "did you mean `kwargs`?" in error.hint and "allowed fields: gx, kwargs, severity" in error.hint


def test_a_valid_gx_expectation_loads_next_to_rules(config_tree):
    from tenantflow.config.models import GxExpectation

    path = config_tree / "tenant_configs" / "finance" / "pipelines" / "orders.yaml"
    path.write_text(ORDERS + textwrap.indent(textwrap.dedent("""
        - rule: not_null
          column: id
        - gx: expect_column_value_lengths_to_be_between
          kwargs: {column: code, min_value: 3, max_value: 3}
          severity: warn
    """).lstrip("\n"), "  "), encoding="utf-8")
    tenant = load_tenant(config_tree / "tenant_configs", "finance")
    rule, expectation = next(p for p in tenant.pipelines if p.id == "orders").quality
    assert rule.rule == "not_null"
    assert isinstance(expectation, GxExpectation) and expectation.columns == ("code",)
    assert (expectation.gx, expectation.kwargs["max_value"], expectation.severity) == (
        "expect_column_value_lengths_to_be_between", 3, "warn")


# --------------------------------------------------------------------------- regex: what RE2 runs

RE2_CASES = [
    (r"^SKU-[0-9]{5}$", None), (r"(?i)^[a-z]+@example\.com$", None), (r"(?s:a.b)", None), (r"\d+(\.\d+)?", None),
    (r"a|b|(c|d)*", None), (r"(?P<name>x)y", None), (r"\bword\b", None), (r"[^\W_]+", None),
    (r"(?<=a)b", "a look-ahead/look-behind"), (r"a(?!b)", "a negative look-ahead/look-behind"),
    (r"(\w)\1", "a back-reference"), (r"(?P<n>a)(?P=n)", "a back-reference"), (r"(?>ab)", "an atomic group"),
    (r"a*+b", "a possessive quantifier"), (r"(a)?(?(1)b|c)", "a conditional group"), (r"(?x) a b", "(?x)"),
    (r"abc\Z", r"\Z"), (r"(?a)\w", "(?a)"), (r"(?x:a b)", "scoped flag"),
    (r"caf\u00e9", r"escape \u"), (r"\N{EM DASH}", r"escape \N"), (r"a\\u", None), (r"\xe9", None),
]


@pytest.mark.parametrize(("pattern", "problem"), RE2_CASES, ids=[c[0] for c in RE2_CASES])
def test_re2_check_agrees_with_duckdb(pattern, problem):
    """The config-time check (no DuckDB import) refuses exactly the patterns DuckDB's RE2 cannot run."""
    import duckdb

    from tenantflow.config.quality_rules import re2_unsupported

    found = re2_unsupported(pattern)
    assert (found is None) is (problem is None) and (problem is None or problem in found), found
    try:
        duckdb.connect().execute("SELECT regexp_matches('abc', ?)", [pattern]).fetchone()
        runs = True
    except duckdb.Error:
        runs = False
    assert runs is (problem is None), f"DuckDB {'runs' if runs else 'refuses'} {pattern!r}"


def test_a_regex_re2_cannot_run_is_a_config_error(config_tree):
    error = error_of(config_tree, "- rule: regex\n  column: sku\n  pattern: '(\\w)\\1'\n", 12)
    assert error.field == "quality.0.pattern"
    assert "uses a back-reference, which RE2" in error.message, error


def test_gx_columns_outside_a_stated_schema_are_errors_at_their_line(config_tree):
    error = error_of(config_tree, """
        - rule: schema
          columns: {sku: string, price: float}
          exact: true
        - gx: expect_column_value_lengths_to_be_between
          kwargs:
            min_value: 9
            column: skuu
    """, 16)
    assert error.field == "quality.1.kwargs.column", error
    assert "column 'skuu' is not in the pipeline's schema (did you mean 'sku'?" in error.message, error


def test_gx_columns_are_not_checked_without_an_exact_schema():
    from tenantflow.config.models import QualityChecks

    checks = TypeAdapter(QualityChecks).validate_python([
        {"rule": "schema", "columns": {"sku": "string"}},
        {"gx": "expect_column_values_to_be_unique", "kwargs": {"column": "anything"}},
    ])
    assert checks[1].columns == ("anything",)
