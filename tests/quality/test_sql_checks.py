"""The DuckDB scan's exact ``unique`` check: the ordered-key shortcut and the GROUP BY behind it
agree with Great Expectations on every layout of the landed parts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from tenantflow.config.models import Profiling, QualityRule
from tenantflow.quality.runner import run_quality
from tenantflow.quality.sql_checks import strictly_increasing

RULES = TypeAdapter(list[QualityRule])


def landed(tmp_path, parts: list[list]) -> ds.Dataset:
    for index, values in enumerate(parts):
        pq.write_table(pa.table({"id": pa.array(values, pa.int64())}), tmp_path / f"part-{index:05d}.parquet")
    return ds.dataset(sorted(str(p) for p in tmp_path.glob("*.parquet")), format="parquet")


# parts of the landed batch, whether the ordered-key shortcut proves uniqueness, rows flagged
LAYOUTS = [
    ([[1, 2, 3], [4, 5], [9, 12]], True, 0),
    ([[4, 5], [1, 2, 3]], True, 0),  # parts in any order, ranges apart
    ([[1, None, 3], [None], [7, None]], True, 0),  # missing keys are not repeats
    ([[1, 2, 3], [3, 4]], False, 2),  # ranges touch: the repeat is found by the GROUP BY
    ([[1, 5], [2, 6]], False, 0),  # interleaved ranges, no repeat
    ([[1, 2, 2, 3]], False, 2),
    ([[3, 2, 1]], False, 0),  # descending: not proven, still unique
    ([[1, 2], [5, 1]], False, 2),
]


@pytest.mark.parametrize(("parts", "ordered", "flagged"), LAYOUTS)
def test_unique_is_exact_with_or_without_the_ordered_key_shortcut(tmp_path, parts, ordered, flagged):
    dataset = landed(tmp_path, parts)
    assert strictly_increasing(dataset, "id") is ordered
    rules = RULES.validate_python([{"rule": "unique", "column": "id"}])
    scanned = run_quality(dataset, rules, "t", max_gx_rows=0, profiling=Profiling())
    gx = run_quality(dataset.to_table(), rules, "t")
    (outcome,) = scanned.outcomes
    assert outcome.engine == "duckdb" and gx.outcomes[0].engine == "gx"
    assert (outcome.success, outcome.unexpected_count) == (gx.outcomes[0].success, flagged) == (flagged == 0, flagged)
    profile = {row["column"]: row for row in scanned.profile}["id"]
    values = [v for part in parts for v in part if v is not None]
    assert (profile["distinct_count"], profile["distinct_approx"]) == (len(set(values)), False)


def test_the_shortcut_only_applies_to_orderable_types(tmp_path):
    pq.write_table(pa.table({"x": [0.5, 1.5], "s": ["a", "b"], "flag": [False, True]}), tmp_path / "p.parquet")
    dataset = ds.dataset(str(tmp_path / "p.parquet"), format="parquet")
    assert strictly_increasing(dataset, "s")
    assert not strictly_increasing(dataset, "x")  # floats (NaN) are left to the GROUP BY
    assert not strictly_increasing(dataset, "flag")
