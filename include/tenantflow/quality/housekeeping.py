"""Housekeeping of a tenant's quality tables (``_quality_results``, ``_profiles``).

Both tables take one small commit per pipeline run. Left alone, each commit adds a snapshot, a
manifest and a data file, and every later commit copies the table's metadata with all its
snapshots: an append took 16 ms at 10 snapshots and 270 ms at 400, and trend and anomaly-history
reads open one file per run. So when a table holds more than ``COMPACT_AFTER`` snapshots, the
append that crossed the line compacts it:

1. rewrites the table as one data file sorted by pipeline and time, keeping the latest record of
   each pipeline run (a run re-recorded after its snapshot was expired replaces its old record);
2. commits that only if no other run appended meanwhile (optimistic concurrency: else the
   compaction is left to the next append and nothing is lost);
3. expires every other snapshot and deletes the files only they referenced, and keeps at most
   ``previous-versions-max`` old metadata files.

Exactly-once recording checks the snapshots still held; readers keep the latest record per run,
so a rare re-record across a compaction never counts twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

COMPACT_AFTER = 50
COMPACTED = "tenantflow.compacted-runs"
METADATA_PROPERTIES = {
    "write.metadata.previous-versions-max": "5",
    "write.metadata.delete-after-commit.enabled": "true",
}


def latest_per_run(rows: pa.Table, time_column: str) -> pa.Table:
    """The rows of each (pipeline, run id)'s latest record (all rows written at that time)."""
    if rows.num_rows == 0:
        return rows
    latest = rows.group_by(["pipeline", "run_id"]).aggregate([(time_column, "max")])
    latest = latest.rename_columns(["pipeline", "run_id", time_column])
    return rows.join(latest, keys=["pipeline", "run_id", time_column], join_type="inner")


def compact_if_due(table: Table, time_column: str) -> bool:
    if len(table.metadata.snapshots) <= COMPACT_AFTER:
        return False
    return compact(table, time_column)


def compact(table: Table, time_column: str) -> bool:
    """Rewrite ``table`` as one sorted file of the latest record per run; False if another commit won."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    before = referenced_files(table)
    rows = latest_per_run(table.scan().to_arrow(), time_column)
    rows = rows.sort_by([("pipeline", "ascending"), (time_column, "ascending"), ("run_id", "ascending")])
    runs = len(set(zip(rows["pipeline"].to_pylist(), rows["run_id"].to_pylist(), strict=True)))
    try:
        with table.transaction() as tx:
            missing = {k: v for k, v in METADATA_PROPERTIES.items() if table.properties.get(k) != v}
            if missing:
                tx.set_properties(missing)
            tx.overwrite(rows.cast(table.schema().as_arrow()), snapshot_properties={COMPACTED: str(runs)})
    except (CommitFailedException, ValidationException):  # rows of a concurrent append would be dropped
        log.info("%s: another run committed first; compaction left to the next append", table.name())
        return False
    current = table.current_snapshot()
    expired = [s.snapshot_id for s in table.snapshots() if current is None or s.snapshot_id != current.snapshot_id]
    if expired:
        table.maintenance.expire_snapshots().by_ids(expired).commit()
    orphans = before - referenced_files(table)
    for path in orphans:
        table.io.delete(path)
    log.info("compacted %s: %d run(s) in one file, %d snapshot(s) expired, %d file(s) deleted",
             ".".join(table.name()), runs, len(expired), len(orphans))
    return True


def referenced_files(table: Table) -> set[str]:
    """Every manifest list, manifest and data file the table's snapshots reference."""
    paths: set[str] = set()
    manifests: dict[str, Any] = {}
    for snapshot in table.snapshots():
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            manifests.setdefault(manifest.manifest_path, manifest)
    for path, manifest in manifests.items():
        paths.add(path)
        paths.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io))
    return paths
