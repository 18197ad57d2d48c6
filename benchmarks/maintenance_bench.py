"""Compaction benchmark: ``tenantflow.maintenance.compact`` on 1,000 small files against reading them once.

    python -m benchmarks.maintenance_bench [--files 1000] [--rows-per-file 1500]

Builds an Iceberg table (SQLite catalog, local warehouse, in a temp dir) of ``files`` small Parquet
files, as that many load runs would leave it: the files are written with pyarrow and registered
with ``add_files`` in ten commits (faster to build than 1,000 appends; compaction sees the same
files). Then times ``compact`` (plan, read every file, write files of the target size, one commit)
against a baseline measured in the same run: one ``pyarrow.dataset`` read of the same files
(``to_table()``). The rows after compaction must equal the rows read by the baseline.

Pass threshold ``ratio_vs_read_once <= 3.0``: compaction must read every byte once and write it once;
a Parquet write (encoding + compression) costs about one to two reads, so reading + writing is about
2-3x a single read. Above 3x, compaction pays for something else (per-file overhead in planning or
reading, re-reading files, one commit per partition): that is what the benchmark guards.
Prints one JSON line (also written to bench-results/maintenance.json).
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
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from benchmarks._report import emit

log = logging.getLogger("maintenance_bench")
THRESHOLD = 3.0
COMMITS = 10


def load_run(rng: np.random.Generator, start: int, rows: int) -> pa.Table:
    """One small load run's rows: ids ascending, a few typical columns."""
    return pa.table({
        "order_id": pa.array(np.arange(start, start + rows), pa.int64()),
        "customer_id": pa.array(rng.integers(1, 50_000, rows), pa.int64()),
        "amount": pa.array(np.round(rng.random(rows) * 5000, 2)),
        "currency": pa.array(rng.choice(["EUR", "USD", "GBP"], rows)),
        "status": pa.array(rng.choice(["placed", "shipped", "returned"], rows)),
        "updated_at": pa.array(rng.integers(1_700_000_000_000_000, 1_800_000_000_000_000, rows), pa.timestamp("us")),
    })


def build(root: Path, files: int, rows_per_file: int):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    catalog = open_catalog("bench", settings, str(root))
    catalog.create_namespace("bench")
    rng = np.random.default_rng(7)
    table = catalog.create_table("bench.orders", schema=load_run(rng, 0, 1).schema)
    data_dir = Path(table.location().removeprefix("file://")) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    paths, start = [], 0
    for n in range(files):
        rows = int(rng.integers(rows_per_file * 2 // 3, rows_per_file * 4 // 3))
        path = data_dir / f"run-{n:05d}.parquet"
        pq.write_table(load_run(rng, start, rows), path, compression="zstd")
        paths.append(str(path))
        start += rows
    per_commit = -(-files // COMMITS)
    for first in range(0, files, per_commit):
        table.add_files([f"file://{p}" for p in paths[first:first + per_commit]], check_duplicate_files=False)
    return catalog.load_table("bench.orders"), paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows-per-file", type=int, default=1500)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)

    from tenantflow.maintenance import compact

    root = Path(tempfile.mkdtemp(prefix="tenantflow-maintenance-bench-"))
    try:
        started = time.perf_counter()
        table, paths = build(root, args.files, args.rows_per_file)
        size = sum(Path(p).stat().st_size for p in paths)
        log.info("table of %d files, %d bytes, built in %.1f s", len(paths), size, time.perf_counter() - started)

        start = time.perf_counter()
        baseline = ds.dataset(paths, format="parquet").to_table()
        read_once_s = time.perf_counter() - start
        log.info("read once: %d rows in %.2f s", baseline.num_rows, read_once_s)
        start = time.perf_counter()
        result = compact(table, target_file_size_bytes=128 * 1024 * 1024, min_input_files=5)
        compact_s = time.perf_counter() - start
        log.info("compact: %d files into %d in %.2f s", result.files_removed, result.files_added, compact_s)

        after = table.refresh().scan().to_arrow().sort_by("order_id")
        files_after = len(table.inspect.files())
        expected = baseline.sort_by("order_id")
        if not after.cast(expected.schema).equals(expected):
            log.error("rows differ after compaction: %d rows, expected %d", after.num_rows, expected.num_rows)
            return 1
        ratio = compact_s / read_once_s
        emit("maintenance", {"bench": "maintenance", "files": len(paths), "rows": baseline.num_rows, "bytes": size,
                             "compact_s": round(compact_s, 3), "read_once_s": round(read_once_s, 3),
                             "ratio_vs_read_once": round(ratio, 2), "files_after": files_after,
                             "rows_equal": True, "targets": {"ratio_vs_read_once": THRESHOLD},
                             "pass": ratio <= THRESHOLD})
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
