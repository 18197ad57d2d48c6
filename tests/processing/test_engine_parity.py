"""The two engines agree: every local-engine case (tests/processing/test_local_engine.py's SQL) run by DuckDB
(the local engine, after transpiling) and by Spark (the Databricks engine, as written) gives equal tables —
the same columns, types and rows."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tenantflow.processing.local_engine import run_sql
from tenantflow.processing.spark_engine import SESSION_CONF, run_spark_sql


@pytest.fixture(scope="module")
def batch() -> pa.Table:
    rng = random.Random(11)
    n = 3_000
    return pa.table({
        "sale_id": pa.array(range(1, n + 1), pa.int64()),
        "sku": [f"SKU-{rng.randint(1, 40):05d}" for _ in range(n)],
        "quantity": pa.array([rng.randint(0, 12) for _ in range(n)], pa.int64()),
        "unit_price": [("n/a" if rng.random() < 0.02 else f"{rng.randint(50, 9999) / 100:.2f}") for _ in range(n)],
        "channel": [rng.choice(["store", "online"]) for _ in range(n)],
        "sold_at": [f"2026-11-{rng.randint(1, 30):02d} {rng.randint(0, 23):02d}:15:00" for _ in range(n)],
        "note": [None if i % 3 else f"note {i}" for i in range(n)],
    })


@pytest.fixture(scope="module")
def lookups() -> dict[str, pa.Table]:
    skus = [f"SKU-{i:05d}" for i in range(1, 31)]  # SKUs 31..40 are unknown to the catalogue
    return {"products": pa.table({"sku": skus, "category": [["grocery", "apparel", "home"][i % 3] for i in range(30)]})}


CASES = {
    "filter": "SELECT sale_id, quantity FROM batch WHERE quantity > 0 AND channel = 'online'",
    "join": "SELECT b.sale_id, b.sku, p.category FROM batch b JOIN products p ON b.sku = p.sku",
    "lenient_casts": "SELECT sale_id, CAST(unit_price AS DECIMAL(10, 2)) AS unit_price, "
                     "CAST(quantity AS STRING) AS quantity, CAST(sku AS INT) AS not_a_number FROM batch",
    "aggregate": "SELECT p.category, COUNT(*) AS sales, SUM(b.quantity) AS units, "
                 "CAST(SUM(b.quantity * CAST(b.unit_price AS DECIMAL(10, 2))) AS DECIMAL(18, 2)) AS revenue "
                 "FROM batch AS b LEFT JOIN products AS p ON b.sku = p.sku GROUP BY p.category",
    "functions": "SELECT sale_id, date_format(to_date(sold_at), 'yyyy/MM') AS month, nvl(note, 'none') AS note, "
                 "upper(channel) AS channel, CAST(sold_at AS TIMESTAMP) AS sold_at, to_date(sold_at) AS sold_on, "
                 "coalesce(CAST(unit_price AS DOUBLE), 0.0) AS price FROM batch",
    "window": "SELECT sale_id, row_number() OVER (PARTITION BY sku ORDER BY sale_id) AS nth FROM batch",
    "empty": "SELECT sale_id, sku FROM batch WHERE quantity > 1000",
}


def duckdb_table(sql: str, batch: pa.Table, lookups: dict[str, pa.Table]) -> pa.Table:
    return pa.concat_tables(list(run_sql(sql, batch, lookups)))


def spark_table(spark, sql: str, batch: pa.Table, lookups: dict[str, pa.Table]) -> pa.Table:
    session = spark.newSession()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return run_spark_sql(session, sql, session.createDataFrame(batch), lookups).toArrow()


def canonical(table: pa.Table) -> pa.Table:
    """Rows in one order; nullability is not part of the comparison (Spark marks COUNT(*) NOT NULL)."""
    schema = pa.schema([pa.field(f.name, f.type) for f in table.schema])
    table = table.cast(schema)
    return table.sort_by([(name, "ascending") for name in table.column_names]) if table.num_rows else table


@pytest.mark.parametrize("case", sorted(CASES))
def test_duckdb_and_spark_give_equal_tables(spark, batch, lookups, case):
    local = canonical(duckdb_table(CASES[case], batch, lookups))
    remote = canonical(spark_table(spark, CASES[case], batch, lookups))
    assert local.schema == remote.schema, f"{case}: DuckDB {local.schema} vs Spark {remote.schema}"
    assert local.to_pylist() == remote.to_pylist(), case
    if case != "empty":
        assert local.num_rows > 0
