"""Load state kept in Iceberg snapshot summaries, committed atomically with the data."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table

RUN_ID = "tenantflow.run-id"
PIPELINE = "tenantflow.pipeline"
WATERMARK = "tenantflow.watermark"
ROWS = "tenantflow.rows"
FILES = "tenantflow.source-files"


def summary_properties(snapshot: object) -> dict[str, str]:
    summary = getattr(snapshot, "summary", None)
    if summary is None:
        return {}
    return dict(getattr(summary, "additional_properties", {}) or {})


def committed_run_ids(table: Table) -> set[str]:
    return {p[RUN_ID] for p in map(summary_properties, table.snapshots()) if RUN_ID in p}


def last_watermark(table: Table) -> str | None:
    """The watermark of the newest snapshot that recorded one (walking back from the current snapshot)."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        props = summary_properties(snapshot)
        if WATERMARK in props:
            return props[WATERMARK]
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return None


def loaded_files(table: Table) -> set[str]:
    """Source files committed by earlier runs (each snapshot lists the files its run loaded)."""
    import json

    files: set[str] = set()
    for props in map(summary_properties, table.snapshots()):
        if FILES in props:
            files.update(json.loads(props[FILES]))
    return files


def carried_properties(table: Table) -> dict[str, str]:
    """Summary properties a tenantflow commit that loads nothing (compaction, retention deletes) must add to
    its snapshot so the load state stays on the current snapshot. (Interface; the versioned state fills it.)"""
    return {}


def state_files(table: Table) -> set[str]:
    """URIs of the load-state files referenced by the table's live snapshots and properties: orphan removal
    keeps them. (Interface; the versioned state fills it.)"""
    return set()
