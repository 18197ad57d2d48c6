"""Commit one run's load under optimistic concurrency, re-checking the load state it was planned on.

A run decides what to read at extract time (files not loaded yet, rows after the watermark) and
commits minutes later. Between the two, another run of the pipeline (``max_active_runs`` > 1, a
second scheduler, a manual trigger) may have committed the same files or rows, or an operator may
have rolled the table back. So every attempt:

1. loads the table and its load state (``state.read_state``);
2. reconciles the run's plan with it (``reconcile``): a run id already committed or a batch whose
   files were all loaded meanwhile is skipped; a batch whose files were partly loaded meanwhile, or
   planned on a watermark the table has since moved back from, is refused (``LoadConflict``: nothing
   is committed, re-running the run's extract re-plans it); a watermark moved forward keeps only
   rows after it;
3. writes the next state file (with the stream position of a queue or CDC source, see ``PlannedLoad.
   stream_merge``) and stages data + state reference in **one** Iceberg transaction whose commit requires
   the table to be exactly as loaded in step 1.

If another commit landed meanwhile, the catalog refuses ours (``CommitFailedException``) and we go
back to step 1. pyiceberg's own retry would rebase the snapshot onto the new table *without* step 2,
so it is switched off on tenantflow's tables (``commit.retry.num-retries=0``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from tenantflow.loading import state
from tenantflow.loading.state_store import VERSION, write_next_state

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table, Transaction

log = logging.getLogger(__name__)

TABLE_PROPERTIES = {"commit.retry.num-retries": "0"}  # we retry ourselves, after re-validating
ATTEMPTS = 8


class LoadConflict(RuntimeError):
    """The run's batch overlaps what the table holds now in a way no retry of the load can fix."""


@dataclass(frozen=True)
class PlannedLoad:
    """What the run read, as its extract planned it against the load state of that moment."""

    run_id: str
    pipeline_id: str
    watermark: str | None = None  # the watermark after this batch
    source_files: tuple[str, ...] = ()
    planned_watermark: str | None = None  # the state's watermark the extract read after
    checks_watermark: bool = False  # incremental without full refresh: rows after planned_watermark
    filters_moved_watermark: bool = False  # append/merge: keep only rows after a watermark moved meanwhile
    cursor: str | None = None
    tracks_files: bool = False  # append/merge files sources: each file loads once
    stream_merge: StreamMerge | None = None
    """Stream sources (queues, CDC): the stream position after this batch, from the one committed now.

    Called on every commit attempt with the position of the table's current load state (None before the
    first one); it returns the position to commit with the batch, or raises ``LoadConflict`` when another
    consumer moved the position in a way this batch cannot be committed on top of (see ``sources/stream``)."""
    delete_flag: str | None = None
    """merge: the batch's boolean column whose true rows delete their key (``target.delete_flag``, or the op
    flag a CDC source lands its deletes with); the column is never stored."""
    replace_table: bool = False
    """The batch is the whole table (a CDC source's initial snapshot): it replaces the table's rows, whatever
    the target's write mode."""


# the stream position committed with the data (JSON-able): queue offsets/ids, a CDC LSN
StreamPosition = Mapping[str, object]
StreamMerge = Callable[["StreamPosition | None"], StreamPosition]


@dataclass(frozen=True)
class Decision:
    skip: str | None = None  # why nothing is committed
    rows_after: str | None = None  # keep only batch rows whose cursor is above this
    watermark: str | None = None  # the watermark to commit when the batch keeps rows


# (table, rows_after) -> (rows to commit, a function staging the write in the transaction)
Stage = Callable[["Transaction", dict[str, str]], None]
Writer = Callable[["Table", "str | None"], "tuple[int, Stage]"]


def watermark_key(value: str) -> tuple[int, object]:
    """Order watermarks as written by extract: timestamps, then numbers, else text."""
    try:
        moment = datetime.fromisoformat(value)
        return (0, moment.timestamp() if moment.tzinfo else moment)
    except ValueError:
        pass
    try:
        return (1, Decimal(value))
    except InvalidOperation:
        return (2, value)


def reconcile(current: state.LoadState, planned: PlannedLoad) -> Decision:
    if current.has_run(planned.run_id):
        return Decision(skip=f"run {planned.run_id} is already committed")
    if planned.tracks_files and planned.source_files:
        overlap = current.loaded(planned.source_files)
        if overlap == set(planned.source_files):
            return Decision(skip=f"all {len(overlap)} source file(s) of this batch were loaded by another run")
        if overlap:
            raise LoadConflict(
                f"run {planned.run_id}: {len(overlap)} of the {len(planned.source_files)} source files of this batch "
                f"were loaded by another run meanwhile (e.g. {sorted(overlap)[:3]}); nothing was committed. Clear "
                "this run's extract task so it reads only the files not loaded yet."
            )
    if not planned.checks_watermark or current.watermark == planned.planned_watermark:
        return Decision(watermark=planned.watermark)
    now, then = current.watermark, planned.planned_watermark
    if now is None or (then is not None and watermark_key(now) < watermark_key(then)):
        raise LoadConflict(
            f"run {planned.run_id} read rows after watermark {then!r}, but the table's load state is now at "
            f"{now!r} (rolled back?): committing would skip the rows in between. Nothing was committed; clear this "
            "run's extract task so it reads from the table's current watermark."
        )
    if not planned.filters_moved_watermark:  # merge with lookback: re-read rows are absorbed by the merge
        newest = max(filter(None, (now, planned.watermark)), key=watermark_key)
        return Decision(watermark=newest)
    log.info("another run moved the watermark from %r to %r meanwhile: keeping only rows after it", then, now)
    return Decision(rows_after=now, watermark=planned.watermark)


def snapshot_properties(planned: PlannedLoad, rows: int, watermark: str | None, head_uri: str) -> dict[str, str]:
    props = {state.RUN_ID: planned.run_id, state.PIPELINE: planned.pipeline_id, state.ROWS: str(rows),
             state.STATE: head_uri, state.STATE_VERSION: str(VERSION)}
    if watermark is not None:
        props[state.WATERMARK] = watermark
    return props


def ensure_commit_properties(table: Table) -> Table:
    """Switch off pyiceberg's blind commit retry on a table created before tenantflow did so itself."""
    missing = {k: v for k, v in TABLE_PROPERTIES.items() if table.properties.get(k) != v}
    if missing:
        with table.transaction() as tx:
            tx.set_properties(missing)
    return table


@dataclass(frozen=True)
class CommitOutcome:
    rows: int
    skipped: str | None
    snapshot_id: int | None


def commit_load(catalog: Catalog, identifier: str, planned: PlannedLoad, writer: Writer) -> CommitOutcome:
    """Reconcile, write the next state and commit the batch with it; retried after a lost commit race."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    for attempt in range(1, ATTEMPTS + 1):
        table = ensure_commit_properties(catalog.load_table(identifier))
        current = state.read_state(table, explain=attempt == 1)
        decision = reconcile(current, planned)
        if decision.skip:
            log.info("%s: %s; nothing to commit", identifier, decision.skip)
            return CommitOutcome(0, decision.skip, None)
        rows, stage = writer(table, decision.rows_after)
        # a batch without cursor values (or whose rows all fell behind a moved watermark) keeps the table's mark
        kept_rows = rows or decision.rows_after is None
        watermark = (decision.watermark if kept_rows else None) or current.watermark
        stream = planned.stream_merge(current.stream) if planned.stream_merge is not None else current.stream
        head = write_next_state(table, current, pipeline_id=planned.pipeline_id, run_id=planned.run_id, rows=rows,
                                watermark=watermark, source_files=planned.source_files, stream=stream)
        try:
            with table.transaction() as tx:
                stage(tx, snapshot_properties(planned, rows, watermark, head))
                tx.set_properties({state.STATE: head})
        except (CommitFailedException, ValidationException) as exc:
            if attempt == ATTEMPTS:
                raise
            log.warning("%s: another commit landed first (%s); re-checking the load state (attempt %d of %d)",
                        identifier, exc, attempt + 1, ATTEMPTS)
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
            continue
        snapshot = table.current_snapshot()  # the transaction refreshed `table` with its own commit
        return CommitOutcome(rows, None, snapshot.snapshot_id if snapshot else None)
    raise AssertionError("unreachable")  # pragma: no cover
