"""The exact ``unique`` count of large batches: the in-scan bitmap of integer keys, the ordered-key
proof and DuckDB's GROUP BY give Great Expectations' answer on every layout of the landed parts, and
the scan uses a cheap method only where it is exact."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from quality.second_opinion import gx_verdict
from tenantflow.config.models import Profiling, QualityRule
from tenantflow.quality import key_repeats
from tenantflow.quality.runner import run_quality

RULES = TypeAdapter(list[QualityRule])
UNIQUE = RULES.validate_python([{"rule": "unique", "column": "id"}])


def landed(tmp_path, parts: list[list], kind: pa.DataType | None = None, **options) -> ds.Dataset:
    for index, values in enumerate(parts):
        pq.write_table(pa.table({"id": pa.array(values, kind or pa.int64())}),
                       tmp_path / f"part-{index:05d}.parquet", **options)
    return ds.dataset(sorted(str(p) for p in tmp_path.glob("*.parquet")), format="parquet")


def as_text(parts: list[list]) -> list[list]:
    return [[None if v is None else f"k{v:06d}" for v in part] for part in parts]


def duckdb_batch(dataset: ds.Dataset) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("batch", dataset)
    return connection


def scanned(dataset: ds.Dataset):
    report = run_quality(dataset, UNIQUE, "t", profiling=Profiling())
    gx = gx_verdict(dataset.to_table(), UNIQUE[0])
    (outcome,) = report.outcomes
    assert outcome.engine == "duckdb"
    assert (outcome.success, outcome.unexpected_count) == gx, (outcome, gx)  # unique is row-level: a count
    return outcome, {row["column"]: row for row in report.profile}["id"]


# parts of the landed batch, whether the ordered-key proof holds, (rows flagged, keys repeated)
LAYOUTS = [
    ([[1, 2, 3], [4, 5], [9, 12]], True, (0, 0)),
    ([[4, 5], [1, 2, 3]], True, (0, 0)),  # parts in any order, ranges apart
    ([[1, None, 3], [None], [7, None]], True, (0, 0)),  # missing keys are not repeats
    ([[1, 2, 3], [3, 4]], False, (2, 1)),  # ranges touch
    ([[1, 5], [2, 6]], False, (0, 0)),  # interleaved ranges, no repeat
    ([[1, 2, 2, 3]], False, (2, 1)),
    ([[3, 2, 1]], False, (0, 0)),  # descending: not proven in order, still unique
    ([[1, 2], [5, 1, 5, 5]], False, (5, 2)),
]


@pytest.mark.parametrize(("parts", "ordered", "expected"), LAYOUTS)
def test_integer_keys_are_judged_by_the_in_scan_bitmap(tmp_path, monkeypatch, parts, ordered, expected):
    dataset = landed(tmp_path, parts)
    values = [v for part in parts for v in part if v is not None]
    assert key_repeats.bitmap_bounds(dataset, "id") == (min(values), max(values))
    assert key_repeats.grouped_repeats(duckdb_batch(dataset), ("id",)) == expected
    monkeypatch.setattr(key_repeats, "strictly_increasing", pytest.fail)  # the bitmap alone decides
    if expected == (0, 0):
        monkeypatch.setattr(key_repeats, "grouped_repeats", pytest.fail)
    outcome, profile = scanned(dataset)
    assert outcome.unexpected_count == expected[0]
    assert (profile["distinct_count"], profile["distinct_approx"]) == (len(set(values)), False)


@pytest.mark.parametrize(("parts", "ordered", "expected"), LAYOUTS)
def test_other_keys_use_the_ordered_proof_or_the_group_by(tmp_path, monkeypatch, parts, ordered, expected):
    dataset = landed(tmp_path, as_text(parts), pa.string())
    assert key_repeats.bitmap_bounds(dataset, "id") is None
    assert key_repeats.strictly_increasing(dataset, "id") is ordered
    if ordered:
        monkeypatch.setattr(key_repeats, "grouped_repeats", pytest.fail)
    outcome, profile = scanned(dataset)
    assert outcome.unexpected_count == expected[0]
    values = [v for part in parts for v in part if v is not None]
    assert (profile["distinct_count"], profile["distinct_approx"]) == (len(set(values)), False)


def test_no_bitmap_without_footer_statistics_or_for_a_wide_range(tmp_path, monkeypatch):
    (tmp_path / "plain").mkdir()
    (tmp_path / "wide").mkdir()
    plain = landed(tmp_path / "plain", [[1, 2, 2]], write_statistics=False)
    assert key_repeats.bitmap_bounds(plain, "id") is None
    assert scanned(plain)[0].unexpected_count == 2
    wide = landed(tmp_path / "wide", [[7, 10**12, 7]])
    assert key_repeats.bitmap_bounds(wide, "id") is None
    assert scanned(wide)[0].unexpected_count == 2
    monkeypatch.setattr(key_repeats, "MAX_BITS", 3)
    assert key_repeats.bitmap_bounds(landed(tmp_path / "plain", [[1, 2, 3, 4]]), "id") is None


def test_unsigned_keys_near_the_top_of_their_range_and_all_null_parts(tmp_path):
    top = 2**64 - 1
    dataset = landed(tmp_path, [[top, top - 5], [None, None], [top - 5, top - 1]], pa.uint64())
    assert key_repeats.bitmap_bounds(dataset, "id") == (top - 5, top)
    # (not compared with GX: pandas turns a uint64 column with nulls into float64, where these keys collide)
    (outcome,) = run_quality(dataset, UNIQUE, "t").outcomes
    assert (outcome.engine, outcome.unexpected_count) == ("duckdb", 2)


def test_floats_and_booleans_are_not_orderable_keys(tmp_path):
    pq.write_table(pa.table({"x": [0.5, 1.5], "flag": [False, True]}), tmp_path / "p.parquet")
    other = ds.dataset(str(tmp_path / "p.parquet"), format="parquet")
    assert not key_repeats.strictly_increasing(other, "x")  # floats (NaN) are left to the GROUP BY
    assert not key_repeats.strictly_increasing(other, "flag")
    assert key_repeats.bitmap_bounds(other, "x") is None
