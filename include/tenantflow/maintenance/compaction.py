"""Compaction: the small data files of each partition rewritten as files of about the target size.

Every load run adds at least one data file, so a table loaded hourly reads thousands of small files.
Per partition (an unpartitioned table is one group) with at least ``min_input_files`` files under
3/4 of the target size, the small files are packed into bins of about the target size by their
on-disk bytes; each bin is read and written as one new file, one bin at a time (memory stays about
one output file). All bins are committed in ONE copy-on-write snapshot that deletes the small files
and adds the new ones, so readers see the old files or the new ones, never both.

The snapshot carries ``tenantflow.loading.state.carried_properties(table)`` (the load state stays on
the current snapshot) and ``tenantflow.maintenance=compaction``. If another writer committed since
the plan, pyiceberg refuses the commit (serializable isolation: CommitFailedException, then
ValidationException on its retry); the files written are deleted and the result says skipped: the
next maintenance run plans again. Files with delete files applied, of an older partition spec or not
Parquet are left alone (rewriting them here could resurrect deleted rows or move partitions).
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tenantflow.loading import state

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

MAINTENANCE = "tenantflow.maintenance"
SMALL_FRACTION = 0.75


@dataclass(frozen=True)
class CompactResult:
    groups_compacted: int
    files_removed: int
    files_added: int
    rows_rewritten: int
    bytes_removed: int
    bytes_added: int
    snapshot_id: int | None = None
    skipped: bool = False
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_compaction(table: Table, target_file_size_bytes: int, min_input_files: int) -> list[list[Any]]:
    """Groups (one per partition) of the small files worth rewriting, as FileScanTasks of the current snapshot."""
    from pyiceberg.manifest import DataFileContent, FileFormat

    if table.current_snapshot() is None:
        return []
    small = target_file_size_bytes * SMALL_FRACTION
    spec_id = table.spec().spec_id
    groups: dict[Any, list[Any]] = defaultdict(list)
    for task in table.scan().plan_files():
        f = task.file
        if (f.content == DataFileContent.DATA and f.file_format == FileFormat.PARQUET and f.spec_id == spec_id
                and not task.delete_files and f.file_size_in_bytes < small):
            groups[f.partition].append(task)
    return [tasks for tasks in groups.values() if len(tasks) >= min_input_files]


def bins(tasks: list[Any], target_file_size_bytes: int) -> list[list[Any]]:
    """Consecutive runs of files of about the target size each; round(total/target) bins of equal share, so
    that no output is small enough (<3/4 target) to be compacted again unless the whole group is."""
    total = sum(t.file.file_size_in_bytes for t in tasks)
    count = max(1, round(total / target_file_size_bytes))
    share = total / count
    out: list[list[Any]] = [[]]
    size = 0
    for task in tasks:
        if size >= share and len(out) < count:
            out.append([])
            size = 0
        out[-1].append(task)
        size += task.file.file_size_in_bytes
    return out


def compact(table: Table, *, target_file_size_bytes: int, min_input_files: int) -> CompactResult:
    """Rewrite each partition's small files into files of about ``target_file_size_bytes`` in one commit."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    table.refresh()
    groups = plan_compaction(table, target_file_size_bytes, min_input_files)
    if not groups:
        log.info("%s: no partition has %d or more small files; nothing to compact", _name(table), min_input_files)
        return CompactResult(0, 0, 0, 0, 0, 0)
    commit_uuid = uuid.uuid4()
    written: list[Any] = []
    props = {**state.carried_properties(table), MAINTENANCE: "compaction"}
    try:
        with table.transaction() as tx:
            metadata = tx.table_metadata  # the plan's snapshot: the commit is validated against it
            rows = _rewrite(table, metadata, groups, target_file_size_bytes, commit_uuid, written)
            with tx.update_snapshot(snapshot_properties=props).overwrite(commit_uuid) as snapshot:
                for task in itertools.chain.from_iterable(groups):
                    snapshot.delete_data_file(task.file)
                for data_file in written:
                    snapshot.append_data_file(data_file)
    except (CommitFailedException, ValidationException) as exc:  # another writer won: no data changed
        _delete_written(table, written)
        log.warning("%s: compaction skipped, another writer committed first (%s); the next run retries",
                    _name(table), exc)
        return CompactResult(0, 0, 0, 0, 0, 0, skipped=True, reason=f"concurrent commit: {exc}")
    except BaseException:  # failed before committing: nothing references the files written so far
        _delete_written(table, written)
        raise
    removed = [t.file for t in itertools.chain.from_iterable(groups)]
    current = table.current_snapshot()
    result = CompactResult(len(groups), len(removed), len(written), rows,
                           sum(f.file_size_in_bytes for f in removed), sum(f.file_size_in_bytes for f in written),
                           current.snapshot_id if current else None)
    log.info("%s: compacted %d partition(s): %d small file(s) (%d bytes) into %d (%d bytes), %d rows",
             _name(table), result.groups_compacted, result.files_removed, result.bytes_removed, result.files_added,
             result.bytes_added, rows)
    return result


def _rewrite(table: Table, metadata: Any, groups: list[list[Any]], target: int, commit_uuid: uuid.UUID,
             written: list[Any]) -> int:
    """Read and write one bin at a time; appends the new DataFiles to ``written`` as they are made."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files

    # one output file per bin: the bins are already sized, pyiceberg must not split them again
    one_file = metadata.model_copy(update={"properties": {**metadata.properties,
                                                          "write.target-file-size-bytes": str(2**62)}})
    counter = itertools.count(0)
    rows = 0
    scan = ArrowScan(table_metadata=metadata, io=table.io, projected_schema=metadata.schema(), row_filter=AlwaysTrue())
    for number, group in enumerate(groups, 1):
        for tasks in bins(group, target):
            data = _read(scan, tasks)
            expected = sum(t.file.record_count for t in tasks)
            if data.num_rows != expected:
                raise RuntimeError(f"{_name(table)}: read {data.num_rows} rows from {len(tasks)} files whose "
                                   f"manifests say {expected}; not compacting")
            written.extend(_dataframe_to_data_files(one_file, data, table.io, commit_uuid, counter))
            rows += data.num_rows
            del data
        log.info("%s: partition %d of %d rewritten (%d rows so far)", _name(table), number, len(groups), rows)
    return rows


def _read(scan: Any, tasks: list[Any]) -> Any:
    """The files' rows as one table, batches cast to the first one's schema (a file may read as large_string):
    ArrowScan.to_table's permissive concat of one table per batch costs a third of the read on small files."""
    import pyarrow as pa

    batches = list(scan.to_record_batches(tasks))
    if not batches:
        return scan.to_table([])
    schema = batches[0].schema
    return pa.Table.from_batches([b if b.schema.equals(schema) else b.cast(schema) for b in batches], schema=schema)


def _delete_written(table: Table, written: list[Any]) -> None:
    for data_file in written:
        try:
            table.io.delete(data_file.file_path)
        except OSError:
            log.warning("could not delete uncommitted compaction file %s", data_file.file_path, exc_info=True)


def _name(table: Table) -> str:
    return ".".join(table.name())
