"""Transform benchmark: the local engine (streamed) against materialising the batch and the result.

    python -m benchmarks.transform_bench [--rows 2000000] [--parts 20] [--engine duckdb|spark]

Lands ``rows`` sales rows as ``parts`` Parquet parts plus a product lookup, then runs the same
Spark SQL transform (filter, lookup join, casts) two ways, each in its own process so peak memory
is its own: ours (``tenantflow.processing.local_engine.run_sql`` over a lazily scanned dataset,
result streamed into Parquet parts) and a baseline that reads the whole batch into one Arrow table,
runs the query and materialises the whole result before writing it. Row counts must match.
With ``--engine spark``: the same SQL and batch on the Databricks engine's code (``processing/spark_engine``,
Spark 4.0 in local mode on this machine's cores, its session start timed apart) against the local engine: a
figure to know, not a target. Prints one JSON line (also written to bench-results/transform[_spark].json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import emit

log = logging.getLogger("transform_bench")

SQL = """
SELECT s.sale_id, s.sku, p.category, CAST(s.quantity AS INT) AS quantity,
       CAST(s.quantity * s.unit_price AS DECIMAL(12, 2)) AS revenue, s.note
FROM batch AS s JOIN products AS p ON s.sku = p.sku
WHERE s.channel = 'online'
"""


def generate(folder: Path, rows: int, parts: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    per_part = rows // parts
    for i in range(parts):
        ids = np.arange(i * per_part, (i + 1) * per_part)
        n = len(ids)
        pq.write_table(pa.table({
            "sale_id": pa.array(ids, pa.int64()),
            "sku": pa.array([f"SKU-{k:05d}" for k in rng.integers(1, 2_000, n)]),
            "quantity": pa.array(rng.integers(1, 10, n), pa.int64()),
            "unit_price": pa.array(np.round(rng.random(n) * 100, 2)),
            "channel": pa.array(rng.choice(["store", "online"], n)),
            "note": pa.array(["x" * 40] * n),  # a wide-ish text column, as real sales rows have
        }), folder / f"part-{i:05d}.parquet", compression="zstd")
    skus = [f"SKU-{k:05d}" for k in range(1, 2_000)]
    categories = [["grocery", "home", "apparel"][k % 3] for k in range(len(skus))]
    pq.write_table(pa.table({"sku": skus, "category": categories}), folder / "products.parquet")


def child(mode: str, folder: Path) -> dict:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    paths = sorted(str(p) for p in folder.glob("part-*.parquet"))
    products = pq.read_table(folder / "products.parquet")
    out = folder / f"out-{mode}"
    start = time.perf_counter()
    if mode == "streamed":
        from tenantflow.landing.writer import write_parts
        from tenantflow.processing.local_engine import run_sql

        staged = write_parts(run_sql(SQL, ds.dataset(paths, format="parquet"), {"products": products}), str(out))
        rows = staged.rows
    else:
        import duckdb

        from tenantflow.processing.local_engine import to_duckdb

        batch = ds.dataset(paths, format="parquet").to_table()  # noqa: F841 - scanned by DuckDB by name
        con = duckdb.connect()
        con.register("batch", batch)
        con.register("products", products)
        result = con.sql(to_duckdb(SQL)).to_arrow_table()
        out.mkdir()
        pq.write_table(result, out / "part-00000.parquet", compression="zstd")
        rows = result.num_rows
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "rows": rows, "seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1)}


def spark_child(folder: Path) -> dict:
    """The Spark engine's path: Spark reads the parts, runs the SQL as written, writes Parquet parts."""
    import pyarrow.parquet as pq

    from tenantflow.processing.spark_engine import run_spark_sql, spark_session, staged_parquet_files

    started = time.perf_counter()
    session = spark_session()
    startup = time.perf_counter() - started
    products = pq.read_table(folder / "products.parquet")
    paths = sorted(f"file://{p}" for p in folder.glob("part-*.parquet"))
    out = folder / "out-spark"
    start = time.perf_counter()
    run_spark_sql(session, SQL, session.read.parquet(*paths), {"products": products}).write.mode(
        "overwrite").parquet(f"file://{out}")
    seconds = time.perf_counter() - start
    rows = sum(pq.read_metadata(out / name).num_rows for name in staged_parquet_files(str(out)))
    return {"mode": "spark", "rows": rows, "seconds": round(seconds, 3), "startup_s": round(startup, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--child", choices=["streamed", "materialized", "spark"])
    parser.add_argument("--dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)
    if args.child:
        done = spark_child(Path(args.dir)) if args.child == "spark" else child(args.child, Path(args.dir))
        print(json.dumps(done))  # noqa: T201 - read by the parent
        return 0

    root = Path(tempfile.mkdtemp(prefix="tenantflow-transform-bench-"))
    try:
        generate(root, args.rows, args.parts)
        log.info("landed %d rows in %d parts", args.rows, args.parts)
        runs = {}
        for mode in ("streamed", "spark") if args.engine == "spark" else ("streamed", "materialized"):
            out = subprocess.run([sys.executable, "-m", "benchmarks.transform_bench", "--child", mode, "--dir",
                                  str(root)], capture_output=True, text=True, check=True)
            runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            log.info("%s: %s", mode, runs[mode])
        if args.engine == "spark":
            local, spark = runs["streamed"], runs["spark"]
            if local["rows"] != spark["rows"]:
                log.error("row counts differ: %s", runs)
                return 1
            emit("transform_spark", {
                "bench": "transform", "engine": "spark", "rows": args.rows, "out_rows": spark["rows"],
                "spark_s": spark["seconds"], "spark_session_start_s": spark["startup_s"],
                "duckdb_s": local["seconds"], "ratio_spark_over_duckdb": round(spark["seconds"] / local["seconds"], 2),
                "spark_master": "local[*]", "cores": os.cpu_count()})
            return 0
        ours, base = runs["streamed"], runs["materialized"]
        if ours["rows"] != base["rows"]:
            log.error("row counts differ: %s", runs)
            return 1
        result = {"bench": "transform", "engine": "duckdb", "rows": args.rows, "out_rows": ours["rows"],
                  "ours_s": ours["seconds"], "materialized_s": base["seconds"],
                  "ours_peak_rss_mb": ours["peak_rss_mb"], "materialized_peak_rss_mb": base["peak_rss_mb"],
                  "memory_ratio_materialized_over_ours": round(base["peak_rss_mb"] / ours["peak_rss_mb"], 2),
                  "time_ratio_ours_over_materialized": round(ours["seconds"] / base["seconds"], 2)}
        emit("transform", result)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
