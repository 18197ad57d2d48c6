"""Quality benchmark: the quality stage's cost against the ingest of the same batch.

    python -m benchmarks.quality_bench [--rows 1000000]

For each of ``--runs`` runs (default 3) writes a new ``rows``-row orders batch as local Parquet
files (a files source), then runs tenantflow's real operators in-process on it, as the DAG orders
them; the first run also creates the tables. Reported times are the medians over the runs:

* ``ingest_s`` = ExtractOperator + LandOperator + IcebergLoadOperator (files -> landing Parquet +
  manifest -> exactly-once Iceberg append on a SQLite catalog);
* ``quality_s`` = QualityCheckOperator on the landed batch with 5 rules (not_null, unique, range,
  accepted_values, a cross-field condition) — all passing, so nothing is quarantined — including
  what the operator always does: reading the batch, the per-column profile appended to
  ``_profiles`` and the results appended to ``_quality_results``.

With more rows than ``TENANTFLOW_QUALITY_GX_MAX_ROWS`` (default 200,000) the rules are judged by
the Arrow engine; ``--gx-sample`` additionally times a Great Expectations run of the same suite
on the full batch (``gx_full_s``) for comparison. ``overhead_ratio = quality_s / ingest_s``, target
<= 0.25. Prints one JSON line (also written to bench-results/quality.json).
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

log = logging.getLogger("quality_bench")

RULES = [
    {"rule": "not_null", "column": "order_id"},
    {"rule": "unique", "column": "order_id"},
    {"rule": "range", "column": "amount", "min": 0, "max": 5000},
    {"rule": "accepted_values", "column": "currency", "values": ["EUR", "USD", "GBP"]},
    {"rule": "condition", "expression": "shipped_at >= placed_at"},
]


def write_source(folder: Path, rows: int, files: int = 4, batch: int = 0) -> None:
    """``rows`` new orders in ``files`` Parquet files (batch k holds ids k*rows+1 ... (k+1)*rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7 + batch)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // files
    for index in range(files):
        n = per_file if index < files - 1 else rows - per_file * (files - 1)
        first = batch * rows + index * per_file + 1
        ids = np.arange(first, first + n)
        placed = rng.integers(1_767_225_600_000_000, 1_798_761_600_000_000, n)
        pq.write_table(pa.table({
            "order_id": pa.array(ids, pa.int64()),
            "customer_id": pa.array(rng.integers(1, 50_000, n), pa.int64()),
            "amount": pa.array(np.round(rng.random(n) * 5000, 2)),
            "currency": pa.array(rng.choice(["EUR", "USD", "GBP"], n)),
            "status": pa.array(rng.choice(["placed", "shipped", "cancelled", "refunded"], n)),
            "placed_at": pa.array(placed, pa.timestamp("us", tz="UTC")),
            "shipped_at": pa.array(placed + rng.integers(0, 5 * 86_400_000_000, n), pa.timestamp("us", tz="UTC")),
            "note": pa.array([f"{i:032x}" for i in ids]),
        }), folder / f"orders-{batch:03d}-{index}.parquet")


class _TaskInstance:
    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcom.get(task_ids)


def context_for(home: Path) -> Any:
    from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig
    from tenantflow.pipeline_context import PipelineContext

    tenant = TenantConfig.model_validate({
        "id": "bench", "display_name": "Bench", "tier": "standard",
        "owners": [{"name": "b", "email": "b@example.com"}],
        "quotas": {"pool_slots": 1, "max_active_runs": 1, "max_active_tasks": 1},
        "storage": {"landing": "landing/bench"}, "catalog": {"name": "local", "namespace": "bench"},
        "default_engine": "local", "classification": "internal",
        "retries": {"retries": 0, "retry_delay_seconds": 1, "max_retry_delay_seconds": 1}})
    pipeline = PipelineConfig.model_validate({
        "id": "orders", "source": {"kind": "files", "path": "sources/orders/*.parquet", "format": "parquet"},
        "quality": RULES, "target": {"table": "orders", "mode": "append"}})
    platform = PlatformConfig.model_validate({"catalogs": {"local": {"type": "sql", "properties": {
        "uri": "sqlite:///{home}/catalog.db", "warehouse": "file://{home}/warehouse"}}}})
    return PipelineContext(tenant, pipeline, platform, str(home))


def run(home: Path, run_id: str) -> dict[str, Any]:
    """One pipeline run over the source's new files: extract, land, quality, load (timed apart)."""
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator
    from tenantflow.operators.quality import QualityCheckOperator

    ctx = context_for(home)
    ti = _TaskInstance()
    context = {"run_id": run_id, "ti": ti}
    start = time.perf_counter()
    ti.xcom["extract.extract"] = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute(context)
    LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract.extract").execute(context)
    landed_s = time.perf_counter() - start
    start = time.perf_counter()
    summary = QualityCheckOperator(task_id="validate", pipeline_ctx=ctx).execute(context)
    quality_s = time.perf_counter() - start
    start = time.perf_counter()
    loaded = IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(context)
    ingest_s = landed_s + time.perf_counter() - start
    return {"ctx": ctx, "ingest_s": ingest_s, "quality_s": quality_s, "summary": summary, "loaded": loaded}


def gx_full(ctx: Any, run_id: str) -> tuple[float, list[str]]:
    """Great Expectations on the whole landed batch, same suite (for comparison only)."""
    from tenantflow.hooks.landing import LandingHook
    from tenantflow.quality.runner import run_quality

    data = LandingHook(ctx.batch(run_id)).read()
    start = time.perf_counter()
    report = run_quality(data, ctx.pipeline.quality, suite_name="bench-gx", max_gx_rows=data.num_rows)
    return time.perf_counter() - start, sorted({o.engine for o in report.outcomes})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="pipeline runs, each over a new batch (median)")
    parser.add_argument("--gx-sample", action="store_true", help="also time GX on the full batch")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    root = Path(tempfile.mkdtemp(prefix="tenantflow-quality-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    try:
        results = []
        for k in range(args.runs):
            write_source(root / "sources" / "orders", args.rows, batch=k)
            result = run(root, f"bench__run_{k}")
            summary, loaded = result["summary"], result["loaded"]
            if summary["rows"] != args.rows or loaded["rows"] != args.rows or summary["failed_error"]:
                log.error("unexpected outcome: quality %s, load %s", summary, loaded)
                return 1
            engines = sorted({r["engine"] for r in summary["rules"]})
            log.info("run %d: ingest (extract -> land -> load) %.2f s; quality (%s) %.2f s",
                     k, result["ingest_s"], ",".join(engines), result["quality_s"])
            results.append(result)
        quality_s = statistics.median(r["quality_s"] for r in results)
        ingest_s = statistics.median(r["ingest_s"] for r in results)
        out = {"bench": "quality", "rows": args.rows, "rules": len(RULES),
               "quality_s": round(quality_s, 3), "ingest_s": round(ingest_s, 3),
               "overhead_ratio": round(quality_s / ingest_s, 3),
               "runs": args.runs, "quality_runs_s": [round(r["quality_s"], 3) for r in results],
               "ingest_runs_s": [round(r["ingest_s"], 3) for r in results],
               "engines": engines, "score": results[-1]["summary"]["score"]}
        if args.gx_sample:
            gx_s, gx_engines = gx_full(results[-1]["ctx"], f"bench__run_{args.runs - 1}")
            out.update({"gx_full_s": round(gx_s, 3), "gx_full_engines": gx_engines})
        out["targets"] = {"overhead_ratio": 0.25}
        out["pass"] = out["overhead_ratio"] <= 0.25
        line = json.dumps(out)
        print(line)  # noqa: T201 - the benchmark's output
        Path("bench-results").mkdir(exist_ok=True)
        Path("bench-results/quality.json").write_text(line + "\n")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
