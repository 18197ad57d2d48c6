"""Anomaly rules fire on a synthetic spike and stay quiet on normal noise, against history in `_profiles`."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from quality.catalog_fixture import quality_store
from tenantflow.config.models import Profiling, QualityRule
from tenantflow.quality.runner import run_quality


@pytest.fixture
def store(tmp_path):
    return quality_store(tmp_path)

RULES = TypeAdapter(list[QualityRule])
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def profile_batch(data: pa.Table, settings: Profiling) -> list[dict]:
    return run_quality(data, [], "t", profiling=settings).profile


def batch(rows: int, rng: random.Random, null_share: float = 0.02, mean: float = 100.0) -> pa.Table:
    every = round(1 / null_share)  # nulls at a steady share: the metrics under test move one at a time
    amounts = [None if i % every == 0 else rng.gauss(mean, 10) for i in range(rows)]
    return pa.table({"id": list(range(rows)), "amount": pa.array(amounts, pa.float64())})


@pytest.fixture
def history(store):
    """20 normal daily runs: ~1000 rows (±3%), ~2% null amounts, mean amount ~100."""
    rng = random.Random(7)
    for day in range(20):
        data = batch(int(rng.gauss(1000, 30)), rng)
        store.record_profile(profile_batch(data, Profiling()), pipeline="orders", run_id=f"run-{day}",
                             at=START + dt.timedelta(days=day))
    return store


RULE_SET = [{"rule": "anomaly", "metric": "row_count", "severity": "error"},
            {"rule": "anomaly", "metric": "null_rate:amount"},
            {"rule": "anomaly", "metric": "mean:amount", "sensitivity": 4}]


def check(store, data):
    def lookup(metric: str) -> list[float]:
        return store.metric_history("orders", metric, exclude_run_id="today")

    return run_quality(data, RULES.validate_python(RULE_SET), suite_name="t", history=lookup)


def test_normal_noise_stays_quiet(history):
    rng = random.Random(99)
    for rows in (975, 1000, 1025):  # within ±1σ of the history's row counts
        report = check(history, batch(rows, rng))
        assert all(o.success for o in report.outcomes), report.summary()


@pytest.mark.parametrize(("data", "fired"), [
    (lambda rng: batch(3000, rng), "anomaly(row_count)"),
    (lambda rng: batch(100, rng), "anomaly(row_count)"),
    (lambda rng: batch(1000, rng, null_share=0.3), "anomaly(null_rate:amount)"),
    (lambda rng: batch(1000, rng, mean=160.0), "anomaly(mean:amount)"),
], ids=["row-spike", "row-drop", "null-spike", "mean-shift"])
def test_a_spike_fires_only_its_rule(history, data, fired):
    report = check(history, data(random.Random(5)))
    failed = [o.rule for o in report.outcomes if not o.success]
    assert failed == [fired], report.summary()
    outcome = next(o for o in report.outcomes if o.rule == fired)
    assert "robust z" in outcome.detail and "over 20 runs" in outcome.detail


def test_less_history_than_min_history_passes_with_a_reason(store):
    rng = random.Random(1)
    for day in range(3):
        store.record_profile(profile_batch(batch(1000, rng), Profiling()), pipeline="orders", run_id=f"r{day}",
                             at=START + dt.timedelta(days=day))
    report = check(store, batch(50_000, rng))
    assert all(o.success for o in report.outcomes)
    assert report.outcomes[0].detail == "insufficient history (3 of 5 runs)"


def test_history_is_per_pipeline_and_excludes_the_current_run(history):
    assert len(history.metric_history("orders", "row_count", exclude_run_id="run-3")) == 19
    assert history.metric_history("customers", "row_count", exclude_run_id="x") == []


def test_landed_parts_are_judged_like_the_table(history, tmp_path):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    def lookup(metric: str) -> list[float]:
        return history.metric_history("orders", metric, exclude_run_id="today")

    batches = {"normal": batch(1000, random.Random(3)), "spike": batch(1000, random.Random(3), mean=160.0)}
    for name, data in batches.items():
        pq.write_table(data, tmp_path / f"{name}.parquet")
        landed = ds.dataset(str(tmp_path / f"{name}.parquet"), format="parquet")
        rules = RULES.validate_python(RULE_SET)
        scanned = run_quality(landed, rules, suite_name="t", history=lookup)
        in_memory = check(history, data)
        assert {o.engine for o in scanned.outcomes} == {o.engine for o in in_memory.outcomes} == {"duckdb"}
        assert [(o.success, o.detail) for o in scanned.outcomes] == [(o.success, o.detail) for o in in_memory.outcomes]
        assert all(o.success for o in scanned.outcomes) is (name == "normal")
