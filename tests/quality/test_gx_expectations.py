"""Native GX expectations: GX runs them (and only them), its verdict is theirs, and each run's Data
Docs are written under the given root — locally or on S3 — without row values."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from tenantflow.config.models import QualityCheck
from tenantflow.quality.runner import run_quality

CHECKS = TypeAdapter(list[QualityCheck])
BATCH = pa.table({
    "sku": ["SKU-00001", "SKU-00002", "SKU-3", None, "secret-person-value"],
    "price": [1.0, 2.5, 3.0, 4.0, 5.0],
})
MIXED = CHECKS.validate_python([
    {"rule": "not_null", "column": "sku", "severity": "warn"},
    {"gx": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "sku", "min_value": 9, "max_value": 9},
     "severity": "warn"},
    {"gx": "expect_column_mean_to_be_between", "kwargs": {"column": "price", "min_value": 2, "max_value": 4}},
    {"gx": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["sku", "price", "gone"]}},
])


def test_gx_judges_its_expectations_and_duckdb_the_rules(tmp_path):
    report = run_quality(BATCH, MIXED, "retail__products", docs_root=str(tmp_path / "docs"))
    rule, lengths, mean, columns = report.outcomes
    assert [o.engine for o in report.outcomes] == ["duckdb", "gx", "gx", "gx"]
    assert (rule.success, rule.unexpected_count) == (False, 1)
    # null skipped by GX; 'SKU-3' and the 19-character value have the wrong length
    assert (lengths.rule, lengths.success, lengths.unexpected_count) == (
        "gx:expect_column_value_lengths_to_be_between(sku)", False, 2)
    assert (mean.success, mean.detail) == (True, "observed 3.1")
    assert not columns.success and columns.severity == "error"
    assert [o.rule for o in report.errors] == ["gx:expect_table_columns_to_match_set"]
    assert report.as_dict()["data_docs"] == report.data_docs


def test_data_docs_are_written_and_hold_no_row_values(tmp_path):
    root = tmp_path / "landing" / "_quality_docs" / "retail__products" / "run=1"
    report = run_quality(BATCH, MIXED, "retail__products", docs_root=str(root))
    assert report.data_docs == (root / "index.html").as_uri()
    index = Path(unquote(urlparse(report.data_docs).path))
    assert index.is_file() and "retail__products" in index.read_text()
    pages = list(root.rglob("*.html"))
    assert any("validations" in p.parts for p in pages), "the run's validation result page"
    assert not any("secret-person-value" in p.read_text(errors="ignore") for p in pages)
    assert f"GX Data Docs: {report.data_docs}" in report.summary()


def test_no_gx_expectations_no_gx_and_no_docs(tmp_path):
    rules = [c for c in MIXED if getattr(c, "gx", None) is None]
    report = run_quality(BATCH, rules, "t", docs_root=str(tmp_path / "docs"))
    assert report.data_docs is None and not (tmp_path / "docs").exists()


def test_an_empty_batch_runs_only_row_count_expectations():
    checks = CHECKS.validate_python([
        {"gx": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"gx": "expect_column_values_to_not_be_null", "kwargs": {"column": "sku"}},
    ])
    empty = BATCH.slice(0, 0)
    rows, column = run_quality(empty, checks, "t").outcomes
    assert (rows.engine, rows.success) == ("gx", False)
    assert column.success and "skipped" in column.detail


def test_an_expectation_gx_cannot_run_fails_without_quoting_values():
    checks = CHECKS.validate_python([{"gx": "expect_column_values_to_not_be_null", "kwargs": {"column": "gone"}}])
    (outcome,) = run_quality(BATCH, checks, "t").outcomes
    assert not outcome.success and outcome.detail.startswith("could not evaluate")


@pytest.fixture
def bucket(moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-retail-docs")
    return client


def test_data_docs_go_to_s3(bucket):
    root = "s3://acme-retail-docs/raw/_quality_docs/retail__products/run=2"
    report = run_quality(BATCH, MIXED, "retail__products", docs_root=root)
    assert report.data_docs == f"{root}/index.html"
    keys = {o["Key"] for o in bucket.list_objects_v2(Bucket="acme-retail-docs")["Contents"]}
    assert "raw/_quality_docs/retail__products/run=2/index.html" in keys
    assert any("/validations/" in k for k in keys)


def test_only_the_newest_runs_keep_their_data_docs(tmp_path, monkeypatch):
    import os

    from tenantflow.quality import gx_expectations

    monkeypatch.setattr(gx_expectations, "DOCS_KEPT", 2)
    root = tmp_path / "_quality_docs" / "retail__products"
    checks = [c for c in MIXED if getattr(c, "gx", None) == "expect_column_mean_to_be_between"]
    for run in range(4):
        run_quality(BATCH, checks, "retail__products", docs_root=str(root / f"run={run}"))
        index = root / f"run={run}" / "index.html"
        os.utime(index, ns=(run * 10**9, run * 10**9))  # written one second apart, oldest first
    assert sorted(p.name for p in root.iterdir()) == ["run=2", "run=3"]
