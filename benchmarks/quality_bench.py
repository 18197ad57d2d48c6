"""Quality benchmark: the quality stage's cost against the ingest of the same batch.

    python -m benchmarks.quality_bench [--rows 1000000] [--source parquet|sqlite|both] [--runs 3] [--gx-sample]

For each source (default both) and each of ``--runs`` runs (default 5), writes a new ``rows``-row
orders batch — local Parquet files (a files source: load appends the landed files, no rewrite) or
rows of a local SQLite table (a sql source, incremental on order_id) — then runs tenantflow's real
operators in-process on it, in DAG order; the first run also creates the tables. Reported times
are medians over the runs:

* ``ingest_s`` = ExtractOperator + LandOperator + IcebergLoadOperator (source -> landing Parquet +
  manifest -> exactly-once Iceberg append on a SQLite catalog);
* ``quality_s`` = QualityCheckOperator on the landed batch with 5 rules (not_null, unique, range,
  accepted_values, a cross-field condition) — all passing, so nothing is quarantined — including
  what the operator always does: the per-column profile appended to ``_profiles`` and the results
  appended to ``_quality_results``.

Whatever its size, the batch is judged and profiled in one DuckDB scan of the landed parts
(``engines`` in the output); ``--gx-sample`` additionally times the same five checks written as
native GX expectations (``gx:`` items, run by Great Expectations on a pandas copy, Data Docs not
written) on the full batch (``gx_full_s``): what listing GX expectations costs;
``rules_only_s`` times the rules alone (no profile, nothing persisted) on the last batch.
``overhead_ratio = quality_s / ingest_s``, target <= 0.25. Prints one JSON line per source (also
written to bench-results/quality-<source>.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._bench_tenant import FakeTaskInstance, bench_context
from benchmarks._report import emit

log = logging.getLogger("quality_bench")

GX_EXPECTATIONS = [
    {"gx": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
    {"gx": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"}},
    {"gx": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0, "max_value": 5000}},
    {"gx": "expect_column_values_to_be_in_set", "kwargs": {"column": "currency", "value_set": ["EUR", "USD", "GBP"]}},
    {"gx": "expect_column_pair_values_a_to_be_greater_than_b",
     "kwargs": {"column_A": "shipped_at", "column_B": "placed_at", "or_equal": True}},
]
RULES = [
    {"rule": "not_null", "column": "order_id"},
    {"rule": "unique", "column": "order_id"},
    {"rule": "range", "column": "amount", "min": 0, "max": 5000},
    {"rule": "accepted_values", "column": "currency", "values": ["EUR", "USD", "GBP"]},
    {"rule": "condition", "expression": "shipped_at >= placed_at"},
]


def orders(first: int, n: int, rng: Any, shuffled: bool = False) -> Any:
    import numpy as np
    import pyarrow as pa

    ids = np.arange(first, first + n)
    if shuffled:  # keys not in order: the exact unique check needs its GROUP BY
        ids = rng.permutation(ids)
    placed = rng.integers(1_767_225_600_000_000, 1_798_761_600_000_000, n)
    return pa.table({
        "order_id": pa.array(ids, pa.int64()),
        "customer_id": pa.array(rng.integers(1, 50_000, n), pa.int64()),
        "amount": pa.array(np.round(rng.random(n) * 5000, 2)),
        "currency": pa.array(rng.choice(["EUR", "USD", "GBP"], n)),
        "status": pa.array(rng.choice(["placed", "shipped", "cancelled", "refunded"], n)),
        "placed_at": pa.array(placed, pa.timestamp("us", tz="UTC")),
        "shipped_at": pa.array(placed + rng.integers(0, 5 * 86_400_000_000, n), pa.timestamp("us", tz="UTC")),
        "note": pa.array([f"{i:032x}" for i in ids]),
    })


def write_source(root: Path, rows: int, source: str, batch: int = 0, files: int = 4, shuffled: bool = False) -> None:
    """``rows`` new orders (batch k holds ids k*rows+1 ... (k+1)*rows) as Parquet files or SQLite rows."""
    import numpy as np

    rng = np.random.default_rng(7 + batch)
    folder = root / "sources" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    if source == "sqlite":
        import sqlite3

        data = orders(batch * rows + 1, rows, rng, shuffled)
        data = data.set_column(5, "placed_at", data["placed_at"].cast("string"))
        data = data.set_column(6, "shipped_at", data["shipped_at"].cast("string"))
        with sqlite3.connect(folder / "orders.db") as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, "
                         "amount REAL, currency TEXT, status TEXT, placed_at TEXT, shipped_at TEXT, note TEXT)")
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             zip(*(data[c].to_pylist() for c in data.column_names), strict=True))
        return
    import pyarrow.parquet as pq

    per_file = rows // files
    for index in range(files):
        n = per_file if index < files - 1 else rows - per_file * (files - 1)
        pq.write_table(orders(batch * rows + index * per_file + 1, n, rng, shuffled),
                       folder / f"orders-{batch:03d}-{index}.parquet")


SOURCES = {
    "parquet": {"source": {"kind": "files", "path": "sources/orders/*.parquet", "format": "parquet"}},
    "sqlite": {"source": {"kind": "sql", "connection_id": "bench__db", "table": "orders", "batch_rows": 200_000},
               "incremental": {"cursor": "order_id"}},
}


def context_for(home: Path, source: str) -> Any:
    return bench_context(home, {"id": "orders", **SOURCES[source], "quality": RULES,
                                "target": {"table": "orders", "mode": "append"}})


def run(home: Path, run_id: str, source: str) -> dict[str, Any]:
    """One pipeline run over the source's new files: extract, land, quality, load (timed apart)."""
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator
    from tenantflow.operators.quality import QualityCheckOperator

    ctx = context_for(home, source)
    ti = FakeTaskInstance()
    context = {"run_id": run_id, "ti": ti}
    start = time.perf_counter()
    ti.xcom["extract"] = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute(context)
    LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract").execute(context)
    landed_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = QualityCheckOperator(task_id="quality", pipeline_ctx=ctx).execute(context)
    quality_s = time.perf_counter() - start
    start = time.perf_counter()
    loaded = IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(context)
    ingest_s = landed_s + time.perf_counter() - start
    return {"ctx": ctx, "ingest_s": ingest_s, "quality_s": quality_s, "summary": summary, "loaded": loaded}


def gx_full(ctx: Any, run_id: str) -> tuple[float, list[str]]:
    """The same checks as native GX expectations on the whole landed batch (for comparison only)."""
    from pydantic import TypeAdapter

    from tenantflow.config.models import QualityCheck
    from tenantflow.landing.store import LandingHook
    from tenantflow.quality.runner import run_quality

    expectations = TypeAdapter(list[QualityCheck]).validate_python(GX_EXPECTATIONS)
    start = time.perf_counter()
    report = run_quality(LandingHook(ctx.batch(run_id)).dataset(), expectations, suite_name="bench-gx")
    if not all(o.success for o in report.outcomes):
        log.error("GX expectations failed on the benchmark batch: %s", report.summary())
    return time.perf_counter() - start, sorted({o.engine for o in report.outcomes})


def rules_only(ctx: Any, run_id: str) -> float:
    """The rules alone on the landed batch (no profile, nothing persisted): the split of quality_s."""
    from tenantflow.landing.store import LandingHook
    from tenantflow.quality.runner import run_quality

    start = time.perf_counter()
    run_quality(LandingHook(ctx.batch(run_id)).dataset(), ctx.pipeline.quality, suite_name="bench-rules")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--source", choices=["parquet", "sqlite", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5, help="pipeline runs, each over a new batch (median)")
    parser.add_argument("--gx-sample", action="store_true", help="also time GX on the full batch")
    parser.add_argument("--shuffled-keys", action="store_true",
                        help="order ids not in order in the source (the exact unique check then groups by key)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    code = 0
    for source in (["parquet", "sqlite"] if args.source == "both" else [args.source]):
        code |= bench(source, args)
    return code


def bench(source: str, args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="tenantflow-quality-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    os.environ["AIRFLOW_CONN_BENCH__DB"] = json.dumps(
        {"conn_type": "sqlite", "host": str(root / "sources" / "orders" / "orders.db")})
    try:
        results = []
        for k in range(args.runs):
            write_source(root, args.rows, source, batch=k, shuffled=args.shuffled_keys)
            result = run(root, f"bench__run_{k}", source)
            summary, loaded = result["summary"], result["loaded"]
            if summary["rows"] != args.rows or loaded["rows"] != args.rows or summary["failed_error"]:
                log.error("unexpected outcome: quality %s, load %s", summary, loaded)
                return 1
            engines = sorted({r["engine"] for r in summary["rules"]})
            log.info("%s run %d: ingest (extract -> land -> load) %.2f s; quality (%s) %.2f s",
                     source, k, result["ingest_s"], ",".join(engines), result["quality_s"])
            results.append(result)
        quality_s = statistics.median(r["quality_s"] for r in results)
        ingest_s = statistics.median(r["ingest_s"] for r in results)
        out = {"bench": "quality", "source": source, "rows": args.rows, "rules": len(RULES),
               "keys": "shuffled" if args.shuffled_keys else "ordered",
               "quality_s": round(quality_s, 3), "ingest_s": round(ingest_s, 3),
               "overhead_ratio": round(quality_s / ingest_s, 3),
               "runs": args.runs, "quality_runs_s": [round(r["quality_s"], 3) for r in results],
               "ingest_runs_s": [round(r["ingest_s"], 3) for r in results],
               "engines": engines, "score": results[-1]["summary"]["score"],
               "rules_only_s": round(rules_only(results[-1]["ctx"], f"bench__run_{args.runs - 1}"), 3)}
        if args.gx_sample:
            gx_s, gx_engines = gx_full(results[-1]["ctx"], f"bench__run_{args.runs - 1}")
            out.update({"gx_full_s": round(gx_s, 3), "gx_full_engines": gx_engines})
        out["targets"] = {"overhead_ratio": 0.25}
        out["pass"] = out["overhead_ratio"] <= 0.25
        emit(f"quality-{source}{'-shuffled' if args.shuffled_keys else ''}", out)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
