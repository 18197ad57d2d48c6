"""Table maintenance: snapshot expiry, compaction of small files, orphan removal; one table at a time.

The per-tenant maintenance DAG maps its config onto a ``TablePolicy`` and calls
``maintain_table`` for each table. The steps are usable on their own.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenantflow.maintenance.compaction import CompactResult, compact
from tenantflow.maintenance.expiry import ExpireResult, expire_snapshots
from tenantflow.maintenance.orphans import OrphanResult, remove_orphan_files
from tenantflow.maintenance.policy import TablePolicy

if TYPE_CHECKING:
    from pyiceberg.table import Table

__all__ = ["CompactResult", "ExpireResult", "TablePolicy", "OrphanResult", "compact", "expire_snapshots",
           "maintain_table", "remove_orphan_files"]

log = logging.getLogger(__name__)


def maintain_table(table: Table, policy: TablePolicy) -> dict[str, Any]:
    """Expire, then compact, then remove orphans; returns a JSON-able summary (counts, bytes, seconds per step).

    Why this order:

    1. **expire first**, while the snapshot current at the start of the run is protected: a reader that
       planned on it a moment ago keeps its files. Compacting first would make that snapshot non-current
       and, if it was committed before the cutoff, expire it (and delete its small files) at once.
       The files compaction replaces are deleted by a later run's expiry, once their snapshot ages out.
    2. **compact** next, on a table with fewer snapshots to plan through; a compaction that loses a race
       with a load is skipped (nothing lost), and the other steps still run.
    3. **orphans last**: it lists the whole location (the slowest step on S3) and it catches what the
       steps before could not account for, e.g. files of a compaction or load that was killed. It runs
       after the others so it sees the table's final references.
    """
    now = datetime.now(UTC)
    summary: dict[str, Any] = {"table": ".".join(table.name())}
    started = time.perf_counter()

    def step(name: str, run: Any) -> None:
        begun = time.perf_counter()
        summary[name] = {**run().as_dict(), "seconds": round(time.perf_counter() - begun, 3)}

    step("expire", lambda: expire_snapshots(table, older_than=now - policy.expire_older_than,
                                            keep_last=policy.keep_last))
    step("compact", lambda: compact(table, target_file_size_bytes=policy.target_file_size_bytes,
                                    min_input_files=policy.min_input_files))
    step("orphans", lambda: remove_orphan_files(table, older_than=now - policy.orphan_older_than))
    summary["seconds"] = round(time.perf_counter() - started, 3)
    log.info("maintained %s in %.1f s: %d snapshot(s) expired, %d small file(s) compacted into %d, %d orphan(s) "
             "deleted (%d bytes)", summary["table"], summary["seconds"], summary["expire"]["snapshots_expired"],
             summary["compact"]["files_removed"], summary["compact"]["files_added"],
             summary["orphans"]["files_deleted"], summary["orphans"]["bytes_freed"])
    return summary
