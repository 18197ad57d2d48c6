"""Merge (upsert) by keys as one copy-on-write Iceberg commit, done in Arrow.

pyiceberg's ``Table.upsert`` builds a row filter with one predicate per key value and
compares every column of matched rows; for 100k changed rows that is slow. Here the
batch's keys become one Arrow ``is_in`` lookup: only data files whose key range can hold
a batch key are read, their non-matching rows are rewritten, and the batch is appended,
all in a single snapshot (with the run id in its summary), so a merge is atomic.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table, Transaction

log = logging.getLogger(__name__)
_KEY_SEPARATOR = "\x1f"  # unit separator: cannot occur in a rendered scalar by accident


@dataclass(frozen=True)
class MergeResult:
    rows_updated: int
    rows_inserted: int
    files_rewritten: int
    files_scanned: int
    rows_deleted: int = 0


class DuplicateMergeKeys(ValueError):
    """The batch holds several rows for one key: which one wins would be arbitrary."""


def key_array(table: pa.Table, keys: Sequence[str]) -> pa.Array:
    """One comparable array for (possibly compound) merge keys."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(keys) == 1:
        return table[keys[0]].combine_chunks()
    parts = [pc.cast(table[k], pa.string()).fill_null("\x00") for k in keys]
    return pc.binary_join_element_wise(*parts, _KEY_SEPARATOR).combine_chunks()


def _check_unique(keys: pa.Array, names: Sequence[str]) -> None:
    import pyarrow.compute as pc

    if pc.count_distinct(keys).as_py() != len(keys):
        counts = pc.value_counts(keys)
        duplicated = [c["values"] for c in counts.to_pylist() if c["counts"] > 1][:5]
        raise DuplicateMergeKeys(
            f"the batch has several rows for merge key(s) {list(names)}, e.g. {duplicated}; "
            "deduplicate the source or choose keys that identify one row"
        )


def _may_contain(task: Any, table: Table, keys: Sequence[str], batch: pa.Table) -> bool:
    """False when the data file's column bounds prove it holds none of the batch's keys."""
    import pyarrow.compute as pc
    from pyiceberg.conversions import from_bytes

    if len(keys) != 1:
        return True
    field = table.schema().find_field(keys[0])
    lower = (task.file.lower_bounds or {}).get(field.field_id)
    upper = (task.file.upper_bounds or {}).get(field.field_id)
    if lower is None or upper is None:
        return True
    try:
        low, high = from_bytes(field.field_type, lower), from_bytes(field.field_type, upper)
        bounds = pc.min_max(batch[keys[0]])
        return not (bounds["max"].as_py() < low or bounds["min"].as_py() > high)
    except (TypeError, ValueError):  # truncated string bounds etc.: read the file
        return True


def merge_into(
    table: Table, batch: pa.Table, keys: Sequence[str], snapshot_properties: dict[str, str],
    deleted: pa.Table | None = None,
) -> MergeResult:
    """Upsert ``batch`` (already aligned to the table schema) into ``table`` by ``keys``, in one commit.

    ``deleted`` holds the keys of rows to remove (a source's delete flag): their rows are dropped
    from the table in the same commit. A key may appear once in ``batch`` + ``deleted`` together.
    """
    with table.transaction() as tx:
        return stage_merge(tx, table, batch, keys, snapshot_properties, deleted)


def stage_merge(
    tx: Transaction, table: Table, batch: pa.Table, keys: Sequence[str], snapshot_properties: dict[str, str],
    deleted: pa.Table | None = None,
) -> MergeResult:
    """Stage the merge's single overwrite snapshot in ``tx`` (the caller commits, with whatever else it stages)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files

    delete_keys = key_array(deleted, keys) if deleted is not None and deleted.num_rows else None
    probe = batch.select(list(keys))
    if delete_keys is not None:
        probe = pa.concat_tables([probe, deleted.select(list(keys)).cast(probe.schema)])
    batch_keys = key_array(probe, keys)
    _check_unique(batch_keys, keys)
    commit_uuid, counter = uuid.uuid4(), itertools.count(0)
    updated = scanned = removed = 0
    replaced: list[tuple[Any, list[Any]]] = []
    metadata = tx.table_metadata
    tasks = list(table.scan().plan_files()) if table.current_snapshot() else []
    for task in tasks:
        if not _may_contain(task, table, keys, probe):
            continue
        scanned += 1
        existing = ArrowScan(table_metadata=metadata, io=table.io, projected_schema=metadata.schema(),
                             row_filter=AlwaysTrue()).to_table(tasks=[task])
        existing_keys = key_array(existing, keys)
        matched = pc.is_in(existing_keys, value_set=batch_keys)
        hits = pc.sum(matched).as_py() or 0
        if hits == 0:
            continue
        gone = 0 if delete_keys is None else pc.sum(pc.is_in(existing_keys, value_set=delete_keys)).as_py() or 0
        updated += hits - gone
        removed += gone
        kept = existing.filter(pc.invert(matched))
        rewritten = list(_dataframe_to_data_files(metadata, kept, table.io, commit_uuid, counter)) \
            if kept.num_rows else []
        replaced.append((task.file, rewritten))
    appended = list(_dataframe_to_data_files(metadata, batch, table.io, commit_uuid, counter)) \
        if batch.num_rows else []
    with tx.update_snapshot(snapshot_properties=snapshot_properties).overwrite(commit_uuid) as snapshot:
        for old_file, new_files in replaced:
            snapshot.delete_data_file(old_file)
            for data_file in new_files:
                snapshot.append_data_file(data_file)
        for data_file in appended:
            snapshot.append_data_file(data_file)
    result = MergeResult(updated, batch.num_rows - updated, len(replaced), scanned, removed)
    log.info("merge: %d rows updated, %d inserted, %d deleted; %d of %d data files read, %d rewritten",
             result.rows_updated, result.rows_inserted, removed, scanned, len(tasks), len(replaced))
    return result
