"""The local engine: a pipeline's Spark SQL transform run by DuckDB over Arrow data.

The query is transpiled from Spark SQL with sqlglot. DuckDB scans the landed batch as an Arrow
dataset (lazily, part by part) and streams the result as record batches (``to_arrow_reader``), so
memory is set by the query's own state (aggregations, the lookup side of joins) and the Arrow scan's
read-ahead, not by holding the batch or the result (``make bench``: benchmarks/transform_bench.py).
External access (files, URLs, extensions) is switched off and locked before the tenant's SQL
runs: the query can only read the relations registered here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tenantflow.config.transform import BATCH_RELATION

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

ROWS_PER_READ = 65_536
ROWS_PER_PART = 500_000


@functools.lru_cache(maxsize=256)
def to_duckdb(sql: str) -> str:
    """Spark SQL -> DuckDB SQL (e.g. Spark's lenient CAST becomes TRY_CAST); ranking window functions keep
    Spark's INT result (DuckDB's are BIGINT)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="spark")
    ranking = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)
    for window in list(tree.find_all(exp.Window)):
        if isinstance(window.this, ranking):
            window.replace(exp.Cast(this=window.copy(), to=exp.DataType.build("INT")))
    return tree.sql(dialect="duckdb")


def spark_result_types(relation: Any) -> Any:
    """The relation with Spark's result types where DuckDB's differ: SUM of integers is HUGEINT in DuckDB,
    BIGINT in Spark (tests/processing/test_engine_parity.py)."""
    if "HUGEINT" not in {str(t) for t in relation.types}:
        return relation
    columns = [f'CAST("{name}" AS BIGINT) AS "{name}"' if str(t) == "HUGEINT" else f'"{name}"'
               for name, t in zip(relation.columns, relation.types, strict=True)]
    return relation.project(", ".join(columns))


def run_sql(
    sql: str, batch: Any, lookups: Mapping[str, Any], *, rows_per_part: int = ROWS_PER_PART,
    memory_limit: str | None = None,
) -> Iterator[pa.Table]:
    """Run the Spark SQL ``sql`` over ``batch`` (an Arrow table or dataset) and the ``lookups``.

    Yields the result in tables of at most ``rows_per_part`` rows (one landed Parquet part each).
    """
    import duckdb
    import pyarrow as pa

    query = to_duckdb(sql)
    con = duckdb.connect(":memory:")
    try:
        con.register(BATCH_RELATION, batch)
        for name, data in lookups.items():
            con.register(name, data)
        # DuckDB estimates an Arrow dataset scan at ~1 row, so its optimiser would build the join hash
        # table on the batch and hold all of it in memory; keep joins as written instead: the right
        # side of a join (a lookup, in `FROM batch JOIN lookup`) is built, the batch streams through
        con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
        con.execute("SET TimeZone = 'UTC'")  # Spark's session time zone on Databricks job clusters
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        log.info("transform (DuckDB): %s", query)
        # streamed in record batches (DuckDB < 2.0 called this fetch_record_batch)
        reader = spark_result_types(con.sql(query)).to_arrow_reader(min(ROWS_PER_READ, rows_per_part))
        pending: list[pa.RecordBatch] = []
        pending_rows = total = 0
        for record_batch in reader:
            pending.append(record_batch)
            pending_rows += record_batch.num_rows
            if pending_rows >= rows_per_part:
                total += pending_rows
                yield pa.Table.from_batches(pending, schema=reader.schema)
                log.info("transform: %d rows out", total)
                pending, pending_rows = [], 0
        if pending_rows or total == 0:
            yield pa.Table.from_batches(pending, schema=reader.schema)
    finally:
        con.close()
