"""Column profiles: exact statistics; top values only for low-cardinality, non-excluded columns."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from quality.catalog_fixture import quality_store
from quality.second_opinion import exact_profile
from tenantflow.config.models import Profiling
from tenantflow.quality.runner import run_quality


@pytest.fixture
def store(tmp_path):
    return quality_store(tmp_path)

BATCH = pa.table({
    "id": [1, 2, 3, 4, 5, 6],
    "amount": [10.0, None, 30.0, 20.0, None, 60.0],
    "status": ["placed", "placed", "shipped", "placed", "refunded", "shipped"],
    "email": [f"person{i}@example.com" for i in range(6)],
})


def profile_batch(data: pa.Table, settings: Profiling) -> list[dict]:
    """The profile the quality task records: computed in the DuckDB scan of the batch."""
    return run_quality(data, [], "t", profiling=settings).profile


def by_column(profile):
    return {row["column"]: row for row in profile}


@pytest.mark.parametrize("settings", [Profiling(), Profiling(top_values_max_distinct=3), Profiling(top_values=1)])
def test_the_scan_profile_equals_the_exact_profile(settings):
    exact = exact_profile(BATCH, settings)
    profile = by_column(profile_batch(BATCH, settings))
    assert profile.keys() == exact.keys()
    for column, row in exact.items():
        assert {k: profile[column][k] for k in row} == pytest.approx(row), column


def test_statistics_per_column():
    profile = by_column(profile_batch(BATCH, Profiling(top_values_max_distinct=3)))
    assert profile["*"]["rows"] == 6
    amount = profile["amount"]
    assert (amount["null_count"], amount["null_rate"], amount["distinct_count"]) == (2, 2 / 6, 4)
    assert (amount["min"], amount["max"], amount["mean"]) == (10.0, 60.0, 30.0)
    # 'refunded' occurs once: a value seen in one row is never kept
    assert json.loads(profile["status"]["top_values"]) == [["placed", 3], ["shipped", 2]]
    assert profile["status"]["min"] is None  # not numeric


def test_high_cardinality_and_excluded_columns_keep_no_values():
    profile = by_column(profile_batch(BATCH, Profiling(top_values_max_distinct=3, exclude=("status",))))
    assert profile["email"]["top_values"] is None and profile["email"]["distinct_count"] == 6
    # under the absolute threshold, but as many distinct values as rows: identifiers, not categories
    assert by_column(profile_batch(BATCH, Profiling(top_values_max_distinct=50)))["email"]["top_values"] is None
    assert profile["id"]["top_values"] is None
    assert "status" not in profile


def test_profiles_are_appended_once_per_run(store):
    at = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    profile = profile_batch(BATCH, Profiling())
    assert store.record_profile(profile, pipeline="orders", run_id="r1", at=at)
    assert not store.record_profile(profile, pipeline="orders", run_id="r1", at=at)  # a retried task
    assert store.record_profile(profile, pipeline="customers", run_id="r1", at=at)  # same run id, other pipeline
    rows = store.catalog.load_table("acme._profiles").scan().to_arrow()
    assert rows.num_rows == 2 * len(profile)
    assert "person0@example.com" not in str(rows.to_pylist())
