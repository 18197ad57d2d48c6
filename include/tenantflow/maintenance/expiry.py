"""Snapshot expiry that also deletes the files only the expired snapshots referenced.

pyiceberg's ``expire_snapshots`` only edits metadata: the manifest lists, manifests and data files of
an expired snapshot stay in storage. Here the files every snapshot references are collected before
and after the expiry commit; the difference is what only the expired snapshots held, so a file a
live snapshot (or a branch/tag) still references is never deleted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tenantflow.loading.state import read_state
from tenantflow.quality.housekeeping import referenced_files

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpireResult:
    snapshots_expired: int
    snapshots_kept: int
    files_deleted: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def as_utc(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC (``datetime.timestamp`` would read it as local time)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def expirable_snapshot_ids(table: Table, older_than: datetime, keep_last: int) -> list[int]:
    """Snapshots committed before ``older_than``, except the newest ``keep_last``, the current one, the one
    holding the current load state and any snapshot a branch or tag points at."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be at least 1 (the current snapshot), got {keep_last}")
    cutoff_ms = int(as_utc(older_than).timestamp() * 1000)
    newest_first = sorted(table.snapshots(), key=lambda s: (s.timestamp_ms, s.sequence_number or 0), reverse=True)
    protected = {s.snapshot_id for s in newest_first[:keep_last]}
    protected.update(ref.snapshot_id for ref in table.metadata.refs.values())
    # the snapshot that references the current load state (a foreign commit may be current above it)
    protected.add(read_state(table).snapshot_id)
    current = table.current_snapshot()
    if current is not None:
        protected.add(current.snapshot_id)
    return [s.snapshot_id for s in newest_first if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected]


def expire_snapshots(table: Table, *, older_than: datetime, keep_last: int) -> ExpireResult:
    """Expire old snapshots (see ``expirable_snapshot_ids``) and delete the files only they referenced."""
    table.refresh()  # protect what is current in the catalog, not what this object saw when it was loaded
    expired = expirable_snapshot_ids(table, older_than, keep_last)
    if not expired:
        log.info("%s: no snapshot to expire (%d kept)", _name(table), len(table.snapshots()))
        return ExpireResult(0, len(table.snapshots()), 0)
    before = referenced_files(table)
    table.maintenance.expire_snapshots().by_ids(expired).commit()
    table.refresh()  # a commit that landed meanwhile may reference files the expired snapshots shared
    unreferenced = before - referenced_files(table)
    deleted = 0
    for path in sorted(unreferenced):
        try:
            table.io.delete(path)
            deleted += 1
        except FileNotFoundError:  # deleted by an earlier, interrupted run
            continue
    kept = len(table.snapshots())
    log.info("%s: expired %d snapshot(s) older than %s, kept %d, deleted %d file(s) only they referenced",
             _name(table), len(expired), as_utc(older_than).isoformat(), kept, deleted)
    return ExpireResult(len(expired), kept, deleted)


def _name(table: Table) -> str:
    return ".".join(table.name())
