"""Every rule type passes and fails where it should, judged by DuckDB on an in-memory batch and on
the same batch landed as Parquet parts — and Great Expectations, as a second opinion, reaches the
same verdict and count wherever it has the same expectation."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from pydantic import TypeAdapter

from quality.second_opinion import gx_verdict
from tenantflow.config.models import QualityRule
from tenantflow.quality.runner import run_quality

RULES = TypeAdapter(list[QualityRule])
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def batch() -> pa.Table:
    return pa.table({
        "order_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "line": pa.array([1, 1, 2, 1, 1], pa.int32()),
        "customer": pa.array(["c1", "c2", "c2", None, "c5"]),
        "amount": pa.array([10.0, 20.0, None, 40.0, 50.0]),
        "status": pa.array(["placed", "shipped", "placed", "refunded", "placed"]),
        "start_date": pa.array([dt.date(2026, 1, d) for d in (1, 2, 3, 4, 5)]),
        "end_date": pa.array([dt.date(2026, 1, d) for d in (2, 2, 9, 3, 6)]),
        "updated_at": pa.array([NOW - dt.timedelta(hours=h) for h in (30, 20, 10, 5, 2)],
                               pa.timestamp("us", tz="UTC")),
    })


# (rule, passes, unexpected rows a row-level rule flags)
CASES = [
    ({"rule": "unique", "columns": ["order_id", "line"]}, True, 0),
    ({"rule": "unique", "columns": ["customer", "line"]}, True, 0),
    ({"rule": "unique", "columns": ["line", "status"]}, False, 2),
    ({"rule": "unique", "column": "customer"}, False, 2),
    ({"rule": "unique", "column": "order_id"}, True, 0),
    ({"rule": "condition", "expression": "end_date >= start_date"}, False, 1),
    ({"rule": "condition", "expression": "start_date <= end_date"}, False, 1),
    ({"rule": "condition", "expression": "end_date > start_date"}, False, 2),
    ({"rule": "condition", "expression": "order_id >= line"}, True, 0),
    ({"rule": "condition", "expression": "amount > 0"}, True, 0),
    ({"rule": "condition", "expression": "amount < 40"}, False, 2),
    ({"rule": "condition", "expression": "status != 'refunded'"}, False, 1),
    ({"rule": "condition", "expression": "status == 'placed'"}, False, 2),
    ({"rule": "condition", "expression": "order_id != line"}, False, 1),
    ({"rule": "schema", "columns": {"order_id": "integer", "amount": "float", "start_date": "date",
                                    "updated_at": "timestamp", "status": "string"}}, True, None),
    ({"rule": "schema", "columns": {"order_id": "string"}}, False, None),
    ({"rule": "schema", "columns": {"order_id": "integer", "missing": "string"}}, False, None),
    ({"rule": "schema", "columns": {"order_id": "integer"}, "exact": True}, False, None),
    ({"rule": "freshness", "column": "updated_at", "max_age": "3h"}, True, None),
    ({"rule": "freshness", "column": "updated_at", "max_age": "90m"}, False, None),
    ({"rule": "freshness", "column": "end_date", "max_age": "2d"}, False, None),
    ({"rule": "duplicates", "columns": ["line"]}, False, None),
    ({"rule": "duplicates", "columns": ["line"], "max_count": 3}, True, None),
    ({"rule": "duplicates", "columns": ["line", "status"], "max_percent": 10}, False, None),
    ({"rule": "duplicates", "columns": ["order_id"]}, True, None),
    ({"rule": "not_null", "column": "customer"}, False, 1),
    ({"rule": "range", "column": "amount", "min": 15}, False, 1),
    ({"rule": "regex", "column": "status", "pattern": "^(placed|shipped)$"}, False, 1),
    ({"rule": "accepted_values", "column": "status", "values": ["placed", "shipped", "refunded"]}, True, 0),
    ({"rule": "row_count", "max": 4}, False, None),
]
IDS = [f"{c[0]['rule']}-{i}-{'pass' if c[1] else 'fail'}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize(("rule", "passes", "flagged"), CASES, ids=IDS)
def test_verdict(batch, rule, passes, flagged):
    report = run_quality(batch, RULES.validate_python([rule]), suite_name="t", now=NOW)
    outcome = report.outcomes[0]
    assert outcome.engine == "duckdb"
    assert outcome.success is passes, report.summary()
    if flagged is not None:
        assert outcome.unexpected_count == flagged, report.summary()


@pytest.mark.parametrize(("rule", "passes", "flagged"), CASES, ids=IDS)
def test_gx_agrees_with_duckdb(batch, rule, passes, flagged):
    """The differential test: GX's verdict and count equal DuckDB's where GX has the same expectation."""
    (parsed,) = RULES.validate_python([rule])
    reference = gx_verdict(batch, parsed, NOW)
    if reference is None:
        pytest.skip(f"GX has no expectation meaning {rule['rule']} here")
    duckdb = run_quality(batch, [parsed], suite_name="t", now=NOW).outcomes[0]
    assert duckdb.success is reference[0], (duckdb, reference)
    if reference[1] is not None:  # row-level rules: the same rows counted
        assert duckdb.unexpected_count == reference[1], (duckdb, reference)


def test_every_tenantflow_rule_is_judged_by_duckdb(batch):
    rules = RULES.validate_python([
        {"rule": "unique", "columns": ["order_id", "line"]},
        {"rule": "condition", "expression": "end_date >= start_date"},
        {"rule": "freshness", "column": "updated_at", "max_age": "6h"},
        {"rule": "schema", "columns": {"order_id": "integer"}},
        {"rule": "duplicates", "columns": ["line"], "max_count": 3},
    ])
    engines = [o.engine for o in run_quality(batch, rules, suite_name="t", now=NOW).outcomes]
    assert engines == ["duckdb"] * 5


def test_failure_details_name_the_problem_not_the_values(batch):
    rules = RULES.validate_python([
        {"rule": "schema", "columns": {"order_id": "string", "gone": "date"}},
        {"rule": "freshness", "column": "updated_at", "max_age": "1h"},
        {"rule": "duplicates", "columns": ["line"]},
    ])
    schema, fresh, dupes = run_quality(batch, rules, suite_name="t", now=NOW).outcomes
    assert schema.detail == "missing gone; order_id is integer, expected string"
    assert fresh.detail == "newest value is 2h00m old (max 1h)"
    assert dupes.detail == "3 duplicate row(s), 60.00% (max 0)"


def test_condition_on_a_missing_column_fails_with_a_reason(batch):
    rules = RULES.validate_python([{"rule": "condition", "expression": "end_date >= begin_date"}])
    outcome = run_quality(batch, rules, suite_name="t", now=NOW).outcomes[0]
    assert not outcome.success and "could not evaluate: column 'begin_date' is not in the batch" in outcome.detail


@pytest.fixture(scope="module")
def landed(batch, tmp_path_factory):
    """The same batch as landed Parquet parts (two files), as the quality task scans large batches."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("landed")
    pq.write_table(batch.slice(0, 2), folder / "part-00000.parquet", compression="zstd")
    pq.write_table(batch.slice(2), folder / "part-00001.parquet", compression="zstd")
    return ds.dataset(sorted(str(p) for p in folder.glob("*.parquet")), format="parquet")


@pytest.mark.parametrize(("rule", "passes", "flagged"), CASES, ids=IDS)
def test_landed_parts_are_judged_like_the_table(batch, landed, rule, passes, flagged):
    rules = RULES.validate_python([rule])
    in_memory = run_quality(batch, rules, suite_name="t", now=NOW).outcomes[0]
    scanned = run_quality(landed, rules, suite_name="t", now=NOW).outcomes[0]
    assert scanned.engine == "duckdb"
    assert (scanned.success, scanned.unexpected_count, scanned.detail) == (
        in_memory.success, in_memory.unexpected_count, in_memory.detail), (in_memory, scanned)
    assert (scanned.success, scanned.unexpected_count if flagged is not None else None) == (
        passes, flagged)


def test_quarantine_masks_of_landed_parts_and_of_the_table_agree(batch, landed):
    rules = RULES.validate_python([
        {"rule": "not_null", "column": "customer", "severity": "quarantine"},
        {"rule": "condition", "expression": "end_date >= start_date", "severity": "quarantine"},
        {"rule": "unique", "column": "order_id", "severity": "quarantine"},
    ])
    scanned = run_quality(landed, rules, suite_name="t", now=NOW)
    in_memory = run_quality(batch, rules, suite_name="t", now=NOW)
    assert sorted(scanned.quarantine_masks) == sorted(in_memory.quarantine_masks) == [0, 1]
    assert scanned.data.num_rows == batch.num_rows
    for index, mask in scanned.quarantine_masks.items():
        failing = scanned.data.filter(mask)["order_id"].to_pylist()
        assert failing == batch.filter(in_memory.quarantine_masks[index])["order_id"].to_pylist()


def test_duckdb_profile_matches_the_exact_profile(batch, landed):
    from quality.second_opinion import exact_profile
    from tenantflow.config.models import Profiling

    settings = Profiling(top_values_max_distinct=3)
    scanned = {r["column"]: r for r in run_quality(landed, [], "t", profiling=settings).profile}
    exact = exact_profile(batch, settings)
    assert scanned.keys() == exact.keys()
    for column, row in exact.items():
        for stat in ("rows", "null_count", "null_rate", "distinct_count", "min", "max", "mean", "top_values"):
            if stat in row:
                assert scanned[column][stat] == pytest.approx(row[stat]), (column, stat)
    assert not any(r["distinct_approx"] for r in scanned.values())  # low cardinality: counted exactly


@pytest.fixture(scope="module")
def awkward() -> pa.Table:
    """Values where engines tend to differ: NaN, nulls, keys above 2^53, decimals, zoned timestamps."""
    import decimal

    top = 2**64 - 1
    zone = dt.timezone(dt.timedelta(hours=2))
    return pa.table({
        "key": pa.array([top, top - 1, top, None, 2**53 + 1, 2**53], pa.uint64()),
        "ratio": pa.array([0.5, float("nan"), float("nan"), None, 1.5, 0.1]),
        "price": pa.array([decimal.Decimal(v) if v else None for v in ("1.10", "2.00", "2.00", None, "9.99", "0.01")],
                          pa.decimal128(10, 2)),
        "at": pa.array([dt.datetime(2026, 1, 1, h, tzinfo=zone) for h in (1, 2, 2, 3, 4, 5)],
                       pa.timestamp("us", tz="Europe/Paris")),
        "code": pa.array(["a1", "b2", "b2", None, "zz", "a1"]),
    })


AWKWARD = [
    ({"rule": "unique", "column": "key"}, 2),
    ({"rule": "unique", "columns": ["ratio", "price"]}, 2),  # NaN equals NaN, nulls equal nulls
    ({"rule": "unique", "columns": ["at"]}, 2),
    ({"rule": "unique", "columns": ["code", "ratio"]}, 2),
    ({"rule": "range", "column": "ratio", "max": 1}, 3),  # NaN is outside every range
    ({"rule": "range", "column": "ratio", "min": 0.2}, 1),
    ({"rule": "range", "column": "price", "min": 1, "max": 5}, 2),
    ({"rule": "not_null", "column": "ratio"}, 1),  # NaN is a value, not a null
    ({"rule": "condition", "expression": "ratio <= 1"}, 3),
    ({"rule": "condition", "expression": "ratio != 0.5"}, 1),
    ({"rule": "accepted_values", "column": "code", "values": ["a1", "b2"]}, 1),
    ({"rule": "accepted_values", "column": "key", "values": [2**53, 2**53 + 1]}, 3),
    ({"rule": "regex", "column": "code", "pattern": "^[a-b]"}, 1),
]


@pytest.mark.parametrize(("rule", "flagged"), AWKWARD, ids=[f"{c[0]['rule']}-{i}" for i, c in enumerate(AWKWARD)])
def test_quarantine_masks_flag_exactly_the_rows_duckdb_counted(awkward, tmp_path, rule, flagged):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    pq.write_table(awkward, tmp_path / "part-00000.parquet")
    landed = ds.dataset(str(tmp_path / "part-00000.parquet"), format="parquet")
    rules = RULES.validate_python([{**rule, "severity": "quarantine"}])
    for data in (awkward, landed):
        report = run_quality(data, rules, suite_name="t", now=NOW)
        (outcome,) = report.outcomes
        assert (outcome.engine, outcome.unexpected_count) == ("duckdb", flagged), report.summary()
        assert pa.compute.sum(report.quarantine_masks[0]).as_py() == flagged
