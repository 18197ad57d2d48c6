"""Write one landed batch into the pipeline's Iceberg table, exactly once per Airflow run id."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantflow.config.models import PartitionField, Target
from tenantflow.loading import state
from tenantflow.loading.merge import merge_into

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteResult:
    table: str
    mode: str
    rows: int
    skipped: bool
    snapshot_id: int | None

    def as_dict(self) -> dict:
        return {"table": self.table, "mode": self.mode, "rows": self.rows, "skipped": self.skipped,
                "snapshot_id": self.snapshot_id}


def _transform(field: PartitionField):
    from pyiceberg import transforms as t

    simple = {"identity": t.IdentityTransform, "year": t.YearTransform, "month": t.MonthTransform,
              "day": t.DayTransform, "hour": t.HourTransform}
    if field.transform in simple:
        return simple[field.transform]()
    if field.transform == "bucket":
        return t.BucketTransform(field.width)
    return t.TruncateTransform(field.width)


def ensure_table(catalog: Catalog, identifier: str, schema: pa.Schema, target: Target) -> Table:
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError

    namespace = identifier.rsplit(".", 1)[0]
    try:
        catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:
        pass
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    missing = [p.column for p in target.partition_by if p.column not in schema.names]
    if missing:
        raise ValueError(f"target.partition_by column(s) {missing} are not in the data; columns: {schema.names}")
    properties = {"comment": target.comment} if target.comment else {}
    table = catalog.create_table_if_not_exists(identifier, schema=schema, properties=properties)
    if target.partition_by:
        with table.update_spec() as spec:
            for field in target.partition_by:
                spec.add_field(field.column, _transform(field), f"{field.column}_{field.transform}")
        table = catalog.load_table(identifier)
    log.info("created Iceberg table %s", identifier)
    return table


def write_batch(
    catalog: Catalog,
    identifier: str,
    data: pa.Table,
    target: Target,
    *,
    run_id: str,
    pipeline_id: str,
    watermark: str | None,
    source_files: list[str] | None = None,
) -> WriteResult:
    """Append, overwrite or merge ``data``; a run id already committed is skipped (no duplicates)."""
    data, deleted = split_deletes(data, target)
    table = ensure_table(catalog, identifier, data.schema, target)
    if skipped := _already_committed(table, identifier, target, run_id):
        return skipped
    data = apply_schema_policy(table, data, target.schema_policy)
    props = _snapshot_properties(run_id, pipeline_id, data.num_rows, watermark, source_files)
    table = catalog.load_table(identifier)
    data = _align(data, table)
    if target.mode == "append":
        table.append(data, snapshot_properties=props)
    elif target.mode == "overwrite" and target.overwrite_scope == "partitions":
        table.dynamic_partition_overwrite(data, snapshot_properties=props)
    elif target.mode == "overwrite":
        table.overwrite(data, snapshot_properties=props)
    else:
        merge_with_retry(catalog, identifier, table, data, target.merge_keys, props, deleted=deleted)
    table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    log.info("%s %d rows into %s (snapshot %s)", target.mode, data.num_rows, identifier,
             snapshot.snapshot_id if snapshot else None)
    return WriteResult(identifier, target.mode, data.num_rows, False, snapshot.snapshot_id if snapshot else None)


def split_deletes(data: pa.Table, target: Target) -> tuple[pa.Table, pa.Table | None]:
    """(rows to upsert, keys to delete) by the target's delete flag column; the flag column is not stored."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flag = target.delete_flag
    if flag is None:
        return data, None
    if flag not in data.column_names:
        raise ValueError(f"target.delete_flag column {flag!r} is not in the batch; columns: {data.column_names}")
    try:
        deleting = pc.fill_null(pc.cast(data[flag], pa.bool_()), False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"target.delete_flag column {flag!r} must be boolean (true deletes the row): {exc}") from exc
    rest = data.drop_columns([flag])
    return rest.filter(pc.invert(deleting)), rest.filter(deleting).select(list(target.merge_keys))


def merge_with_retry(
    catalog: Catalog, identifier: str, table: Table, data: pa.Table, keys: tuple[str, ...], props: dict[str, str],
    attempts: int = 3, deleted: pa.Table | None = None,
) -> None:
    """Merge; when another writer committed first, re-plan against the new snapshot and try again."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    for attempt in range(1, attempts + 1):
        try:
            merge_into(table, data, keys, props, deleted=deleted)
            return
        except (CommitFailedException, ValidationException) as exc:  # ref moved / files added meanwhile
            if attempt == attempts:
                raise
            log.warning("merge into %s lost a commit race (%s); re-planning (attempt %d)", identifier, exc, attempt + 1)
            table = catalog.load_table(identifier)
            if props[state.RUN_ID] in state.committed_run_ids(table):
                return  # the other writer was this run's earlier attempt


def append_landed_parts(
    catalog: Catalog,
    identifier: str,
    parts: list[str],
    schemas: list[pa.Schema],
    rows: int,
    target: Target,
    *,
    run_id: str,
    pipeline_id: str,
    watermark: str | None,
    source_files: list[str] | None = None,
) -> WriteResult | None:
    """Append landed Parquet parts as data files (no rewrite); None when only a row write can do it."""
    from tenantflow.loading.file_append import append_parts, can_add_files

    if target.mode != "append" or not parts or target.partition_by:
        return None
    table = ensure_table(catalog, identifier, schemas[0], target)
    if skipped := _already_committed(table, identifier, target, run_id):
        return skipped
    if not can_add_files(table, schemas):
        return None
    append_parts(table, parts, _snapshot_properties(run_id, pipeline_id, rows, watermark, source_files))
    snapshot = catalog.load_table(identifier).current_snapshot()
    return WriteResult(identifier, target.mode, rows, False, snapshot.snapshot_id if snapshot else None)


def commit_state(
    catalog: Catalog, identifier: str, target: Target, *, run_id: str, pipeline_id: str, watermark: str | None,
    source_files: list[str] | None = None,
) -> WriteResult | None:
    """Commit a run that has no rows to write but did advance state (watermark, files read).

    E.g. every row was quarantined or rejected: without this, the next run would read (and
    quarantine or reject) the same rows again. One snapshot without data files carries the
    state; None when the table does not exist yet (nothing was ever loaded: nothing to protect).
    """
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return None
    if skipped := _already_committed(table, identifier, target, run_id):
        return skipped
    empty = schema_to_pyarrow(table.schema()).empty_table()
    table.append(empty, snapshot_properties=_snapshot_properties(run_id, pipeline_id, 0, watermark, source_files))
    log.info("run %s committed to %s with no rows (state only: watermark %s, %d source file(s))", run_id,
             identifier, watermark, len(source_files or []))
    snapshot = catalog.load_table(identifier).current_snapshot()
    return WriteResult(identifier, target.mode, 0, False, snapshot.snapshot_id if snapshot else None)


def _already_committed(table: Table, identifier: str, target: Target, run_id: str) -> WriteResult | None:
    """Exactly once: a run id found in the table's snapshots was loaded already."""
    if run_id not in state.committed_run_ids(table):
        return None
    log.info("run %s already committed to %s: nothing to do", run_id, identifier)
    return WriteResult(identifier, target.mode, 0, True, None)


def _snapshot_properties(
    run_id: str, pipeline_id: str, rows: int, watermark: str | None, source_files: list[str] | None = None
) -> dict[str, str]:
    """Load state committed with the data: run id, rows, watermark and the source files loaded."""
    import json

    props = {state.RUN_ID: run_id, state.PIPELINE: pipeline_id, state.ROWS: str(rows)}
    if watermark is not None:
        props[state.WATERMARK] = watermark
    if source_files:
        props[state.FILES] = json.dumps(sorted(source_files))
    return props


class SchemaFrozen(ValueError):
    """The batch's columns differ from a table whose schema policy is 'freeze'."""


def schema_diff(table: Table, schema: pa.Schema) -> list[str]:
    """Readable differences of a batch against the table: '+ col (type)', '~ col: old -> new'."""
    from tenantflow.loading.arrow_types import plain_type

    existing = {f.name: f.type for f in table.schema().as_arrow()}
    lines = []
    for field in schema:
        if field.name not in existing:
            lines.append(f"+ {field.name} ({field.type})")
        elif plain_type(existing[field.name]) != plain_type(field.type):
            lines.append(f"~ {field.name}: {plain_type(existing[field.name])} -> {field.type}")
    return lines


def apply_schema_policy(table: Table, data: pa.Table, policy: str) -> pa.Table:
    existing = {f.name for f in table.schema().fields}
    new = [name for name in data.schema.names if name not in existing]
    if policy == "discard_columns":
        if new:
            log.warning("schema policy discard_columns: dropping new column(s) %s", new)
        return data.drop_columns(new)
    if policy == "freeze":
        diff = schema_diff(table, data.schema)
        if diff:
            raise SchemaFrozen(
                f"the batch does not match table {table.name()} (schema_policy: freeze):\n  " + "\n  ".join(diff)
                + "\nchange the table deliberately or set target.schema_policy to 'evolve'"
            )
        return data
    widened = _widenings(table, data.schema)
    if new or widened:
        with table.update_schema() as update:
            update.union_by_name(data.schema)  # adds the new columns, applies the safe widenings
        log.info("schema evolved: new columns %s, widened %s", new, widened)
    return data  # other type differences are cast to the table's types when aligning (or fail clearly)


def _widenings(table: Table, schema: pa.Schema) -> list[str]:
    """Columns whose batch type is a safe Iceberg promotion of the table's (int->long, float->double, decimal)."""
    import pyarrow as pa

    existing = {f.name: f.type for f in table.schema().as_arrow()}
    out = []
    for field in schema:
        old, new = existing.get(field.name), field.type
        if old is None:
            continue
        ints = pa.types.is_int32(old) and pa.types.is_int64(new)
        floats = pa.types.is_float32(old) and pa.types.is_float64(new)
        decimals = (pa.types.is_decimal(old) and pa.types.is_decimal(new) and new.scale == old.scale
                    and new.precision > old.precision)
        if ints or floats or decimals:
            out.append(field.name)
    return out


def _align(data: pa.Table, table: Table) -> pa.Table:
    """Order and cast columns to the table's schema; columns missing from the batch are nulls."""
    import pyarrow as pa

    target_schema = table.schema().as_arrow()
    columns = []
    for field in target_schema:
        if field.name in data.column_names:
            columns.append(data[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(data.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=target_schema)
