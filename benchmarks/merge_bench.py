"""Merge benchmark: tenantflow's merge against pyiceberg's ``Table.upsert`` on the same data.

    python -m benchmarks.merge_bench [--rows 1000000] [--changed 100000]

Builds two identical Iceberg tables of ``rows`` rows (SQLite catalog, local warehouse, in a
temp dir) and merges the same batch of ``changed`` rows (90 % updates of existing keys spread
over the whole table, 10 % new keys) into each: ours through ``tenantflow.loading.merge``,
the baseline through pyiceberg's ``upsert``. Both results are compared row for row.
Prints one JSON line (also written to bench-results/merge.json).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks._report import emit

log = logging.getLogger("merge_bench")


def table_data(ids: np.ndarray, rng: np.random.Generator, status: str) -> pa.Table:
    n = len(ids)
    return pa.table({
        "order_id": pa.array(ids, pa.int64()),
        "customer_id": pa.array(rng.integers(1, 50_000, n), pa.int64()),
        "amount": pa.array(np.round(rng.random(n) * 5000, 2)),
        "currency": pa.array(rng.choice(["EUR", "USD", "GBP"], n)),
        "status": pa.array([status] * n),
        "updated_at": pa.array(rng.integers(1_700_000_000_000_000, 1_800_000_000_000_000, n), pa.timestamp("us")),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings
    from tenantflow.loading.merge import merge_into

    root = Path(tempfile.mkdtemp(prefix="tenantflow-merge-bench-"))
    try:
        settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                          "warehouse": "file://{home}/warehouse"})
        catalog = open_catalog("bench", settings, str(root))
        catalog.create_namespace("bench")
        rng = np.random.default_rng(42)
        base = table_data(np.arange(args.rows), rng, "placed")
        updates = rng.choice(args.rows, size=args.changed * 9 // 10, replace=False)
        inserts = np.arange(args.rows, args.rows + args.changed - len(updates))
        batch = table_data(np.concatenate([updates, inserts]), rng, "shipped")
        tables = {}
        for name in ("ours", "upsert"):
            tables[name] = catalog.create_table(f"bench.{name}", schema=base.schema)
            tables[name].append(base)
            tables[name] = catalog.load_table(f"bench.{name}")
        log.info("two tables of %d rows; merging %d rows (%d updates, %d inserts)",
                 args.rows, batch.num_rows, len(updates), len(inserts))

        start = time.perf_counter()
        merge_into(tables["ours"], batch, ["order_id"], {"tenantflow.run-id": "bench"})
        ours_s = time.perf_counter() - start
        log.info("ours: %.2f s", ours_s)
        start = time.perf_counter()
        tables["upsert"].upsert(batch, join_cols=["order_id"])
        upsert_s = time.perf_counter() - start
        log.info("pyiceberg upsert: %.2f s", upsert_s)

        a = catalog.load_table("bench.ours").scan().to_arrow().sort_by("order_id")
        b = catalog.load_table("bench.upsert").scan().to_arrow().sort_by("order_id")
        if not a.equals(b.select(a.column_names)):
            log.error("results differ: ours %d rows, upsert %d rows", a.num_rows, b.num_rows)
            return 1
        result = {"bench": "merge", "rows": args.rows, "changed": args.changed, "ours_s": round(ours_s, 3),
                  "pyiceberg_upsert_s": round(upsert_s, 3),
                  "speedup_vs_pyiceberg_upsert": round(upsert_s / ours_s, 1),
                  "targets": {"speedup_vs_pyiceberg_upsert": 10}, "pass": upsert_s / ours_s >= 10}
        emit("merge", result)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
