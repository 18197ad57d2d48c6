"""Load state of a pipeline's table: which runs and source files are loaded, and the watermark.

The state is part of the table's history, not reconstructed from it:

- every commit tenantflow makes writes the *whole* state (format ``tenantflow.load-state``,
  version 1, see ``state_store``) before committing, and references it from the new snapshot's
  summary (``tenantflow.state``) and from the table property of the same name, in one commit;
- readers take the state of the nearest snapshot in the **current snapshot's ancestry** that
  references one. Expiring any snapshot but that one loses nothing (it holds everything);
  commits by others (compaction by another engine) carry no reference and are walked past;
  after a rollback (``set_current_snapshot``) the state of the rolled-back-to snapshot is used,
  so files and rows committed only in the rolled-back snapshots are loadable again (logged);
- when the ancestry was cut by an expiry that removed our snapshot below a foreign commit, the
  table property (set by our newest commit) is used;
- a lookup reads one small head file plus the hash buckets the looked-up keys fall into, so its
  cost does not grow with the number of snapshots or runs.

Tables written before this format (state only in each snapshot's own summary) are read by the
legacy reader along the current ancestry; the first new commit carries that state forward.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenantflow.loading.state_store import (
    FILE_KEY,
    RUN_KEY,
    VERSION,
    body_keys,
    bucket_of,
    key_line,
    read_head,
    read_segment_body,
    referenced_files,
)

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

RUN_ID = "tenantflow.run-id"
PIPELINE = "tenantflow.pipeline"
WATERMARK = "tenantflow.watermark"
ROWS = "tenantflow.rows"
FILES = "tenantflow.source-files"  # legacy: the files of this snapshot's run only
STATE = "tenantflow.state"  # summary and table property: URI of the state head file
STATE_VERSION = "tenantflow.state-version"


def summary_properties(snapshot: object) -> dict[str, str]:
    summary = getattr(snapshot, "summary", None)
    if summary is None:
        return {}
    return dict(getattr(summary, "additional_properties", {}) or {})


@dataclass
class LoadState:
    """The load state as of one snapshot; segments are read on first use and cached."""

    head_uri: str | None = None
    watermark: str | None = None
    stream: dict | None = None  # queue/CDC sources: the stream position committed with the data
    run_count: int = 0
    file_count: int = 0
    buckets: int = 0
    segments: tuple[str | None, ...] = ()  # per hash bucket: its segment file, None when empty
    snapshot_id: int | None = None  # the snapshot whose summary referenced this state
    sequence_number: int = 0  # of the commit that wrote this state (0: unknown, format v1 tables)
    committed_at_ms: int = 0
    legacy_runs: frozenset[str] = frozenset()
    legacy_files: frozenset[str] = frozenset()
    io: object | None = field(default=None, repr=False)
    _bodies: dict[str, str] = field(default_factory=dict, repr=False)

    def committed_before(self, snapshot: object) -> bool:
        """Whether this state's commit came before ``snapshot`` (so it is in that snapshot's expired history)."""
        sequence = getattr(snapshot, "sequence_number", 0) or 0
        if self.sequence_number and sequence:
            return sequence > self.sequence_number
        return getattr(snapshot, "timestamp_ms", 0) >= self.committed_at_ms

    def has_run(self, run_id: str) -> bool:
        return run_id in self.legacy_runs or self._holds(RUN_KEY + run_id)

    def loaded(self, files: Iterable[str]) -> set[str]:
        """The given source files that are loaded already."""
        return {f for f in files if f in self.legacy_files or self._holds(FILE_KEY + f)}

    def all_run_ids(self) -> set[str]:
        return set(self.legacy_runs) | self._all(RUN_KEY)

    def all_files(self) -> set[str]:
        return set(self.legacy_files) | self._all(FILE_KEY)

    def _all(self, kind: str) -> set[str]:
        return {key[len(kind):] for name in self.segments if name for key in self.segment_keys(name)
                if key.startswith(kind)}

    def _holds(self, key: str) -> bool:
        if not self.segments:
            return False
        name = self.segments[bucket_of(key, len(self.segments))]
        return name is not None and f"\n{key_line(key)}\n" in self._body(name)

    def _body(self, name: str) -> str:
        if name not in self._bodies:
            self._bodies[name] = self._read_body(name)
        return self._bodies[name]

    def _read_body(self, name: str) -> str:
        return read_segment_body(self.io, self.head_uri or "", name)

    def segment_keys(self, name: str) -> list[str]:
        """A bucket's keys (``r:<run id>`` / ``f:<file>``)."""
        return body_keys(self._body(name))


def _snapshot(table: Table, snapshot_id: int | None) -> object | None:
    """The snapshot with this id, searched from the newest (ancestors are near the end of the list)."""
    if snapshot_id is None:
        return None
    for snapshot in reversed(table.metadata.snapshots):
        if snapshot.snapshot_id == snapshot_id:
            return snapshot
    return None


def read_state(table: Table, *, explain: bool = False) -> LoadState:
    """The load state along the current snapshot's ancestry (see the module docstring)."""
    runs: set[str] = set()
    files: set[str] = set()
    watermark: str | None = None
    snapshot = _snapshot(table, table.metadata.current_snapshot_id)
    latest = table.properties.get(STATE)
    oldest = None
    while snapshot is not None:
        props = summary_properties(snapshot)
        if STATE in props:
            found = _from_head(table.io, props[STATE], snapshot.snapshot_id)
            if explain and latest and latest != props[STATE]:
                log.warning(
                    "%s: the current snapshot's history does not hold the newest load state (the table was rolled "
                    "back or its current snapshot was set): using the state of snapshot %s; runs and files committed "
                    "only after it count as not loaded and will be loaded again", ".".join(table.name()),
                    snapshot.snapshot_id)
            return _with_legacy(found, runs, files, watermark)
        if RUN_ID in props:  # legacy summary: this snapshot's own run only
            runs.add(props[RUN_ID])
            files.update(json.loads(props.get(FILES, "[]")))
            watermark = watermark if watermark is not None else props.get(WATERMARK)
        oldest, snapshot = snapshot, _snapshot(table, snapshot.parent_snapshot_id)
    if latest and oldest is not None:
        newest = _from_head(table.io, latest, None)
        if newest.committed_before(oldest):
            # expiry removed our snapshots below a foreign commit: the newest state is in the table property
            log.info("%s: the history below snapshot %s was expired; load state from the table property",
                     ".".join(table.name()), oldest.snapshot_id)
            return _with_legacy(newest, runs, files, watermark)
        if explain:
            log.warning("%s: the current snapshot %s predates every load state (rolled back before the first "
                        "tenantflow commit?): everything counts as not loaded", ".".join(table.name()),
                        table.metadata.current_snapshot_id)
    return LoadState(watermark=watermark, legacy_runs=frozenset(runs), legacy_files=frozenset(files), io=table.io)


def _from_head(io: object, uri: str, snapshot_id: int | None) -> LoadState:
    head = read_head(io, uri)
    return LoadState(
        head_uri=uri, watermark=head.get("watermark"), stream=head.get("stream"), run_count=head["runs"],
        file_count=head["files"],
        buckets=head["buckets"], segments=tuple(head["segments"]), snapshot_id=snapshot_id,
        sequence_number=head.get("sequence_number", 0), committed_at_ms=head.get("committed_at_ms", 0), io=io,
    )


def _with_legacy(found: LoadState, runs: set[str], files: set[str], watermark: str | None) -> LoadState:
    if runs or files:  # legacy snapshots on top of a new-format one: written by an older tenantflow
        found.legacy_runs = frozenset(runs)
        found.legacy_files = frozenset(files)
        found.watermark = watermark if watermark is not None else found.watermark
    return found


def committed_run_ids(table: Table) -> set[str]:
    return read_state(table).all_run_ids()


def last_watermark(table: Table) -> str | None:
    return read_state(table).watermark


def loaded_files(table: Table) -> set[str]:
    """All source files loaded as of the current snapshot (reads every bucket: for tests and tools)."""
    return read_state(table).all_files()


def carried_properties(table: Table) -> dict[str, str]:
    """Summary properties a tenantflow commit that loads nothing (compaction, retention deletes) adds to its
    snapshot so the current snapshot keeps referencing the load state (legacy tables: nothing to carry)."""
    state = read_state(table)
    if state.head_uri is None:
        return {}
    return {STATE: state.head_uri, STATE_VERSION: str(VERSION)}


def state_files(table: Table) -> set[str]:
    """URIs of the state files (heads and their segments) referenced by live snapshots or the table property:
    orphan removal keeps them."""
    heads = {summary_properties(s).get(STATE) for s in table.metadata.snapshots}
    heads.add(table.properties.get(STATE))
    return referenced_files(table.io, {h for h in heads if h})
