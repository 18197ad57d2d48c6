"""The checked-in GX catalogue is what the installed Great Expectations registers, and reading it
(config validation) never imports GX."""

from __future__ import annotations

import subprocess
import sys

from tenantflow.config import gx_catalogue


def test_the_catalogue_matches_the_installed_gx():
    current = gx_catalogue.render(gx_catalogue.generate())
    assert gx_catalogue.CATALOGUE.read_text(encoding="utf-8") == current, (
        "gx_catalogue.json differs from the installed GX's registry: run "
        "`python -m tenantflow.config.gx_catalogue` and review the diff")


def test_the_catalogue_offers_gx_core_expectations_with_their_arguments():
    expectations = gx_catalogue.expectations()
    lengths = expectations["expect_column_value_lengths_to_be_between"]
    assert lengths["required"] == ["column"]
    assert {"min_value", "max_value", "mostly"} <= set(lengths["optional"])
    assert not any(set(spec["required"] + spec["optional"]) & set(gx_catalogue.REFUSED_ARGUMENTS)
                   for spec in expectations.values())
    assert not set(gx_catalogue.SQL_ONLY) & set(expectations)
    assert len(expectations) >= 50


def test_validating_a_gx_expectation_does_not_import_gx():
    code = (
        "import sys\n"
        "from pydantic import TypeAdapter\n"
        "from tenantflow.config.models import QualityCheck\n"
        "TypeAdapter(QualityCheck).validate_python({'gx': 'expect_column_values_to_be_unique', "
        "'kwargs': {'column': 'a'}})\n"
        "heavy = [m for m in ('great_expectations', 'duckdb', 'pandas', 'pyarrow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
