"""Load-state benchmark: lookup and commit overhead as snapshots and runs accumulate.

    python -m benchmarks.state_bench [--snapshots 10,1000,10000] [--repeats 30]

For each size N a pipeline table is given N snapshots, N committed runs and N loaded source files:
the state is laid out by the real state writer (one layout of N runs and N files, equal to what N
commits build), and the N snapshots are added to the table's metadata directly (real commits of
10,000 snapshots would take hours: pyiceberg copies the metadata on every commit).

- ``lookup_s``: what an extract and a commit ask of the state, given the loaded table: read the state
  of the current snapshot, whether an old run id is committed, which of 10 listed files are loaded
  (5 are), and the watermark. Median of ``repeats``.
- ``commit_overhead_s``: what the state adds to one commit: read the state, reconcile the run's plan
  with it, write the next state (touched buckets + head). Median of ``repeats``.
- Baseline in the same run: the legacy layout (each snapshot's own run and files in its summary,
  the state reconstructed from the history), looked up the same way (``legacy_lookup_s``).
- ``table_load_s``: catalog.load_table itself, for context; it grows with the metadata, which the
  maintenance DAG's snapshot expiry keeps short.

Passes when lookup and commit overhead at the largest N are at most 1.5x those at the smallest.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from benchmarks._report import emit

log = logging.getLogger("state_bench")


def _catalog(home: Path):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    return open_catalog("bench", CatalogSettings(type="sql", properties={
        "uri": "sqlite:///{home}/c.db", "warehouse": "file://{home}/w"}), str(home))


def _file(i: int) -> str:
    return f"s3://acme-retail-drop/sales/2026/sales_{i:06d}.csv"


def _run(i: int) -> str:
    return f"scheduled__2026-01-01T00:00:00+00:00#{i:06d}"


def build(catalog, name: str, n: int, legacy: bool):
    """A table of n snapshots whose history holds n runs and n files (v1 state, or legacy summaries)."""
    from pyiceberg.serializers import ToOutputFile
    from pyiceberg.table.refs import SnapshotRef, SnapshotRefType
    from pyiceberg.table.snapshots import Operation, Snapshot, Summary

    from tenantflow.config.models import Target
    from tenantflow.loading import state
    from tenantflow.loading.commit import PlannedLoad
    from tenantflow.loading.iceberg_writer import write_batch
    from tenantflow.loading.state_store import write_next_state

    identifier = f"bench.{name}"
    data = pa.table({"sale_id": pa.array([1], pa.int64())})
    write_batch(catalog, identifier, data, Target(table=name, mode="append"),
                PlannedLoad(run_id="bootstrap", pipeline_id="sales"))
    table = catalog.load_table(identifier)
    base = table.current_snapshot()
    head = None
    if not legacy:  # lay the state of n runs and n files out at once (what n commits would leave)
        previous = state.LoadState(legacy_runs=frozenset(_run(i) for i in range(n - 1)),
                                   legacy_files=frozenset(_file(i) for i in range(n - 1)), io=table.io)
        head = write_next_state(table, previous, pipeline_id="sales", run_id=_run(n - 1), rows=1, watermark=str(n),
                                source_files=[_file(n - 1)])
    snapshots, parent = [], None
    for i in range(n):
        props = {state.RUN_ID: _run(i), state.PIPELINE: "sales", state.ROWS: "1", state.WATERMARK: str(i + 1)}
        props.update({state.FILES: json.dumps([_file(i)])} if legacy else {state.STATE: head, state.STATE_VERSION: "1"})
        snapshot_id = 10_000_000 + i
        snapshots.append(Snapshot(snapshot_id=snapshot_id, parent_snapshot_id=parent, sequence_number=i + 1,
                                  timestamp_ms=base.timestamp_ms + i, manifest_list=base.manifest_list,
                                  summary=Summary(Operation.APPEND, **props), schema_id=base.schema_id))
        parent = snapshot_id
    metadata = table.metadata.model_copy(update={
        "snapshots": snapshots, "current_snapshot_id": parent, "last_sequence_number": n, "snapshot_log": [],
        "refs": {"main": SnapshotRef(snapshot_id=parent, snapshot_ref_type=SnapshotRefType.BRANCH)},
        "properties": {**table.metadata.properties, **({state.STATE: head} if head else {})},
    })
    location = f"{table.location()}/metadata/bench-{n}-{'legacy' if legacy else 'v1'}.metadata.json"
    ToOutputFile.table_metadata(metadata, table.io.new_output(location), overwrite=True)
    catalog.drop_table(identifier)
    catalog.register_table(identifier, location)
    return identifier


def lookup(table, n: int) -> None:
    from tenantflow.loading import state

    current = state.read_state(table)
    assert current.has_run(_run(n // 2)), "an old run is committed"
    listed = [_file(i) for i in range(n - 5, n)] + [f"s3://acme-retail-drop/sales/new_{i}.csv" for i in range(5)]
    assert len(current.loaded(listed)) == min(5, n)
    assert current.watermark is not None


def commit_overhead(table, n: int, attempt: int) -> None:
    from tenantflow.loading import state
    from tenantflow.loading.commit import PlannedLoad, reconcile
    from tenantflow.loading.state_store import write_next_state

    planned = PlannedLoad(run_id=f"next-{attempt}", pipeline_id="sales", source_files=(f"next_{attempt}.csv",),
                          tracks_files=True, watermark=str(n + 1))
    current = state.read_state(table)
    decision = reconcile(current, planned)
    assert decision.skip is None
    write_next_state(table, current, pipeline_id="sales", run_id=planned.run_id, rows=1,
                     watermark=decision.watermark, source_files=planned.source_files)


def median_time(fn, repeats: int) -> float:
    times = []
    for attempt in range(repeats):
        started = time.perf_counter()
        fn(attempt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(catalog, n: int, repeats: int, result: dict) -> None:
    identifier = build(catalog, f"v1_{n}", n, legacy=False)
    table = catalog.load_table(identifier)
    lookup(table, n)  # warm: imports, file cache
    result["lookup_s"].append(round(median_time(lambda _: lookup(table, n), repeats), 6))
    result["commit_overhead_s"].append(round(median_time(lambda a: commit_overhead(table, n, a), repeats), 6))
    result["table_load_s"].append(round(median_time(lambda _: catalog.load_table(identifier), 3), 4))
    legacy = catalog.load_table(build(catalog, f"legacy_{n}", n, legacy=True))
    result["legacy_lookup_s"].append(round(median_time(lambda _: lookup(legacy, n), max(3, repeats // 10)), 6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", default="10,1000,10000")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.snapshots.split(",")]
    home = Path(tempfile.mkdtemp(prefix="tenantflow-state-bench-"))
    result: dict = {"bench": "state", "snapshots": sizes, "lookup_s": [], "commit_overhead_s": [],
                    "legacy_lookup_s": [], "table_load_s": []}
    try:
        catalog = _catalog(home)
        for n in sizes:
            measure(catalog, n, args.repeats, result)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result["lookup_ratio"] = round(result["lookup_s"][-1] / result["lookup_s"][0], 2)
    result["commit_overhead_ratio"] = round(result["commit_overhead_s"][-1] / result["commit_overhead_s"][0], 2)
    result["legacy_lookup_ratio"] = round(result["legacy_lookup_s"][-1] / result["legacy_lookup_s"][0], 2)
    result["pass"] = result["lookup_ratio"] <= 1.5 and result["commit_overhead_ratio"] <= 1.5
    emit("state", result)


if __name__ == "__main__":
    main()
