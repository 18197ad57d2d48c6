"""Local engine: Spark SQL transforms run by DuckDB give the rows a user expects from the SQL."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tenantflow.processing.local_engine import run_sql, to_duckdb


@pytest.fixture(scope="module")
def sales() -> pa.Table:
    rng = random.Random(7)
    n = 5_000
    return pa.table({
        "sale_id": pa.array(range(1, n + 1), pa.int64()),
        "sku": [f"SKU-{rng.randint(1, 40):05d}" for _ in range(n)],
        "quantity": pa.array([rng.randint(0, 12) for _ in range(n)], pa.int64()),
        # prices arrive as text from CSV-like sources; one in 50 is not a number
        "unit_price": [("n/a" if rng.random() < 0.02 else f"{rng.randint(50, 9999) / 100:.2f}") for _ in range(n)],
        "channel": [rng.choice(["store", "online"]) for _ in range(n)],
    })


@pytest.fixture(scope="module")
def products() -> pa.Table:
    skus = [f"SKU-{i:05d}" for i in range(1, 31)]  # SKUs 31..40 are unknown to the catalogue
    return pa.table({"sku": skus, "category": [["grocery", "apparel", "home"][i % 3] for i in range(30)]})


def collect(sql, batch, lookups=None, **kwargs) -> list[dict]:
    return pa.concat_tables(list(run_sql(sql, batch, lookups or {}, **kwargs))).to_pylist()


def test_filter_keeps_the_rows_matching_the_predicate(sales):
    got = collect("SELECT sale_id, quantity FROM batch WHERE quantity > 0 AND channel = 'online'", sales)
    expected = [{"sale_id": r["sale_id"], "quantity": r["quantity"]} for r in sales.to_pylist()
                if r["quantity"] > 0 and r["channel"] == "online"]
    assert sorted(got, key=lambda r: r["sale_id"]) == expected
    assert 0 < len(expected) < sales.num_rows


def test_join_with_a_lookup_enriches_rows(sales, products):
    got = collect("SELECT b.sale_id, b.sku, p.category FROM batch b JOIN products p ON b.sku = p.sku", sales,
                  {"products": products})
    category = dict(zip(products["sku"].to_pylist(), products["category"].to_pylist(), strict=True))
    expected = [{"sale_id": r["sale_id"], "sku": r["sku"], "category": category[r["sku"]]}
                for r in sales.to_pylist() if r["sku"] in category]
    assert sorted(got, key=lambda r: r["sale_id"]) == expected
    assert len(expected) < sales.num_rows  # the inner join dropped unknown SKUs


def test_spark_cast_semantics_bad_values_become_null(sales):
    got = collect("SELECT sale_id, CAST(unit_price AS DECIMAL(10, 2)) AS unit_price, "
                  "CAST(quantity AS STRING) AS quantity FROM batch", sales)
    by_id = {r["sale_id"]: r for r in got}
    for row in sales.to_pylist():
        out = by_id[row["sale_id"]]
        expected_price = None if row["unit_price"] == "n/a" else Decimal(row["unit_price"])
        assert out["unit_price"] == expected_price
        assert out["quantity"] == str(row["quantity"])
    assert any(r["unit_price"] is None for r in got), "the sample has unparsable prices"


def test_aggregation_by_lookup_category(sales, products):
    sql = """
        SELECT p.category, COUNT(*) AS sales, SUM(b.quantity) AS units
        FROM batch AS b
        LEFT JOIN products AS p ON b.sku = p.sku
        GROUP BY p.category
    """
    got = {r["category"]: (r["sales"], r["units"]) for r in collect(sql, sales, {"products": products})}
    category = dict(zip(products["sku"].to_pylist(), products["category"].to_pylist(), strict=True))
    expected: dict = defaultdict(lambda: [0, 0])
    for r in sales.to_pylist():
        key = category.get(r["sku"])
        expected[key][0] += 1
        expected[key][1] += r["quantity"]
    assert got == {k: tuple(v) for k, v in expected.items()}
    assert None in got  # unknown SKUs aggregate under a NULL category (LEFT JOIN)


def test_spark_functions_are_transpiled():
    assert "TRY_CAST" in to_duckdb("SELECT CAST(a AS INT) FROM batch")
    table = pa.table({"d": ["2026-11-29", "2026-01-05"]})
    got = collect("SELECT date_format(to_date(d), 'yyyy/MM') AS m, nvl(NULL, 1) AS one FROM batch", table)
    assert got == [{"m": "2026/11", "one": 1}, {"m": "2026/01", "one": 1}]


def test_result_streams_in_bounded_parts(sales):
    parts = list(run_sql("SELECT * FROM batch", sales, {}, rows_per_part=1_000))
    assert sum(p.num_rows for p in parts) == sales.num_rows
    assert len(parts) >= 4 and all(p.num_rows < 2_000 for p in parts)


def test_an_empty_result_keeps_its_schema(sales):
    parts = list(run_sql("SELECT sale_id, sku FROM batch WHERE quantity > 1000", sales, {}))
    assert [p.num_rows for p in parts] == [0]
    assert parts[0].schema.names == ["sale_id", "sku"]


def test_scans_a_parquet_dataset_lazily(tmp_path, sales):
    for i, chunk in enumerate(sales.to_batches(max_chunksize=1_000)):
        pq.write_table(pa.Table.from_batches([chunk]), tmp_path / f"part-{i:05d}.parquet")
    dataset = ds.dataset(sorted(str(p) for p in tmp_path.glob("*.parquet")), format="parquet")
    got = collect("SELECT COUNT(*) AS n, MAX(sale_id) AS top FROM batch", dataset)
    assert got == [{"n": sales.num_rows, "top": sales.num_rows}]


def test_tenant_sql_cannot_reach_files(tmp_path, sales):
    """Config validation refuses table functions; the engine also locks DuckDB's external access."""
    import duckdb

    secret = tmp_path / "other_tenant.parquet"
    pq.write_table(pa.table({"x": [1]}), secret)
    with pytest.raises(duckdb.Error, match="(?i)external access|disabled"):
        list(run_sql(f"SELECT * FROM parquet.`{secret}`", sales, {}))
