"""The exact ``unique`` count of large batches: the ordered-key shortcut, the direct-address count
of dense integer keys and DuckDB's GROUP BY give Great Expectations' answer on every layout of the
landed parts, and the scan picks the cheap method only where it is exact."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from tenantflow.config.models import Profiling, QualityRule
from tenantflow.quality import key_repeats
from tenantflow.quality.runner import run_quality

RULES = TypeAdapter(list[QualityRule])


def landed(tmp_path, parts: list[list], kind: pa.DataType | None = None) -> ds.Dataset:
    for index, values in enumerate(parts):
        pq.write_table(pa.table({"id": pa.array(values, kind or pa.int64())}), tmp_path / f"part-{index:05d}.parquet")
    return ds.dataset(sorted(str(p) for p in tmp_path.glob("*.parquet")), format="parquet")


# parts of the landed batch, whether the ordered-key shortcut proves uniqueness, (rows flagged, keys repeated)
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


def duckdb_batch(dataset: ds.Dataset) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("batch", dataset)
    return connection


@pytest.mark.parametrize(("parts", "ordered", "expected"), LAYOUTS)
def test_every_method_counts_repeats_as_gx(tmp_path, parts, ordered, expected):
    dataset = landed(tmp_path, parts)
    values = [v for part in parts for v in part if v is not None]
    assert key_repeats.strictly_increasing(dataset, "id") is ordered
    assert key_repeats.dense_integer_repeats(dataset, "id", min(values), max(values)) == expected
    assert key_repeats.grouped_repeats(duckdb_batch(dataset), ("id",)) == expected
    rules = RULES.validate_python([{"rule": "unique", "column": "id"}])
    scanned = run_quality(dataset, rules, "t", max_gx_rows=0, profiling=Profiling())
    gx = run_quality(dataset.to_table(), rules, "t").outcomes[0]
    (outcome,) = scanned.outcomes
    assert (outcome.engine, gx.engine) == ("duckdb", "gx")
    assert (outcome.success, outcome.unexpected_count) == (gx.success, gx.unexpected_count) == (
        expected[0] == 0, expected[0])
    profile = {row["column"]: row for row in scanned.profile}["id"]
    assert (profile["distinct_count"], profile["distinct_approx"]) == (len(set(values)), False)


def test_sparse_or_non_integer_keys_are_left_to_the_group_by(tmp_path):
    sparse = landed(tmp_path, [[1, 10**12, 1]])
    assert key_repeats.dense_integer_repeats(sparse, "id", 1, 10**12) is None
    assert key_repeats.repeats(duckdb_batch(sparse), sparse, ("id",), (1, 10**12)) == (2, 1)
    pq.write_table(pa.table({"x": [0.5, 1.5], "s": ["a", "b"], "flag": [False, True]}), tmp_path / "p.parquet")
    other = ds.dataset(str(tmp_path / "p.parquet"), format="parquet")
    assert key_repeats.strictly_increasing(other, "s")
    assert not key_repeats.strictly_increasing(other, "x")  # floats (NaN) are not ordered
    assert not key_repeats.strictly_increasing(other, "flag")
    assert key_repeats.dense_integer_repeats(other, "x", 0.5, 1.5) is None


def test_unsigned_keys_near_the_top_of_their_range(tmp_path):
    top = 2**64 - 1
    dataset = landed(tmp_path, [[top, top - 5], [top - 5, top - 1]], pa.uint64())
    assert key_repeats.dense_integer_repeats(dataset, "id", top - 5, top) == (2, 1)

