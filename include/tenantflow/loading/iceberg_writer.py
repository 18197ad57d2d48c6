"""Write one landed batch into the pipeline's Iceberg table, exactly once per Airflow run id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantflow.config.models import PartitionField, Target
from tenantflow.loading import state
from tenantflow.loading.commit import TABLE_PROPERTIES, CommitOutcome, LoadConflict, PlannedLoad, Stage, commit_load
from tenantflow.loading.merge import stage_merge

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table, Transaction

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
    except Exception:  # e.g. the SQL catalog's IntegrityError when another run created it a moment ago
        if not catalog.namespace_exists(namespace):
            raise
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    missing = [p.column for p in target.partition_by if p.column not in schema.names]
    if missing:
        raise ValueError(f"target.partition_by column(s) {missing} are not in the data; columns: {schema.names}")
    properties = {**TABLE_PROPERTIES, **({"comment": target.comment} if target.comment else {})}
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
    planned: PlannedLoad,
) -> WriteResult:
    """Append, overwrite or merge ``data`` once per run id, validated against the table's load state at commit."""
    data, deleted = split_deletes(data, target, planned.delete_flag)
    table = ensure_table(catalog, identifier, data.schema, target)
    if skipped := _already_committed(table, identifier, target, planned.run_id):
        return skipped
    data = apply_schema_policy(table, data, target.schema_policy)

    def writer(table: Table, rows_after: str | None) -> tuple[int, Stage]:
        batch = _align(_after(data, planned, rows_after), table)
        if planned.replace_table:  # the batch is the whole table (a CDC snapshot), whatever the write mode
            return batch.num_rows, lambda tx, props: tx.overwrite(batch, snapshot_properties=props)
        return batch.num_rows, lambda tx, props: _stage_write(tx, table, batch, target, props, deleted)

    outcome = commit_load(catalog, identifier, planned, writer)
    return _result(identifier, target, outcome)


def _after(data: pa.Table, planned: PlannedLoad, rows_after: str | None) -> pa.Table:
    """The batch's rows after a watermark another run moved meanwhile (all rows when it did not move)."""
    if rows_after is None:
        return data
    from tenantflow.loading.watermark import rows_after_watermark

    if planned.cursor not in data.column_names:
        raise LoadConflict(
            f"run {planned.run_id}: another run moved the watermark to {rows_after!r} meanwhile and this batch has no "
            f"cursor column {planned.cursor!r} to keep only the newer rows (a transform dropped it?); nothing was "
            "committed. Clear this run's extract task so it reads from the table's current watermark."
        )
    return rows_after_watermark(data, planned.cursor, rows_after)


def _stage_write(
    tx: Transaction, table: Table, data: pa.Table, target: Target, props: dict[str, str], deleted: pa.Table | None
) -> None:
    if target.mode == "append":
        tx.append(data, snapshot_properties=props)
    elif target.mode == "overwrite" and target.overwrite_scope == "partitions":
        tx.dynamic_partition_overwrite(data, snapshot_properties=props)
    elif target.mode == "overwrite":
        tx.overwrite(data, snapshot_properties=props)
    else:
        stage_merge(tx, table, data, target.merge_keys, props, deleted=deleted)


def _result(identifier: str, target: Target, outcome: CommitOutcome) -> WriteResult:
    if outcome.skipped:
        return WriteResult(identifier, target.mode, 0, True, None)
    log.info("%s %d rows into %s (snapshot %s)", target.mode, outcome.rows, identifier, outcome.snapshot_id)
    return WriteResult(identifier, target.mode, outcome.rows, False, outcome.snapshot_id)


def split_deletes(data: pa.Table, target: Target, flag: str | None = None) -> tuple[pa.Table, pa.Table | None]:
    """(rows to upsert, keys to delete) by the delete flag column (the target's unless given); it is not stored."""
    import pyarrow as pa
    import pyarrow.compute as pc

    flag = flag or target.delete_flag
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


def append_landed_parts(
    catalog: Catalog,
    identifier: str,
    parts: list[str],
    schemas: list[pa.Schema],
    rows: int,
    target: Target,
    planned: PlannedLoad,
    read: Callable[[], pa.Table],
) -> WriteResult | None:
    """Append landed Parquet parts as data files (no rewrite); None when only a row write can do it.

    ``read`` gives the batch's rows, for the rare commit that must keep only some of them (another
    run moved the watermark meanwhile).
    """
    from tenantflow.loading.file_append import can_add_files, copy_parts

    if target.mode != "append" or not parts or target.partition_by:
        return None
    table = ensure_table(catalog, identifier, schemas[0], target)
    if skipped := _already_committed(table, identifier, target, planned.run_id):
        return skipped
    if not can_add_files(table, schemas):
        return None
    copies: list[str] = []

    def writer(table: Table, rows_after: str | None) -> tuple[int, Stage]:
        if rows_after is not None:
            batch = _align(_after(read(), planned, rows_after), table)
            return batch.num_rows, lambda tx, props: tx.append(batch, snapshot_properties=props)
        copies[:] = copies or copy_parts(table, parts)  # copied once, whatever the attempts

        def stage(tx: Transaction, props: dict[str, str]) -> None:
            tx.add_files(file_paths=copies, snapshot_properties=props, check_duplicate_files=False)

        return rows, stage

    outcome = commit_load(catalog, identifier, planned, writer)
    if copies and not outcome.skipped:
        log.info("appended %d landed file(s) to %s without rewriting rows", len(copies), identifier)
    return _result(identifier, target, outcome)


def commit_state(catalog: Catalog, identifier: str, target: Target, planned: PlannedLoad) -> WriteResult | None:
    """Commit a run that has no rows to write but did advance state (watermark, files read).

    E.g. every row was quarantined or rejected: without this, the next run would read (and
    quarantine or reject) the same rows again. One snapshot without data files carries the
    state; None when the table does not exist yet (nothing was ever loaded: nothing to protect).
    """
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    try:
        catalog.load_table(identifier)
    except NoSuchTableError:
        return None

    def writer(table: Table, rows_after: str | None) -> tuple[int, Stage]:
        empty = schema_to_pyarrow(table.schema()).empty_table()
        if planned.replace_table:  # an empty CDC snapshot: the table is empty now
            return 0, lambda tx, props: tx.overwrite(empty, snapshot_properties=props)
        return 0, lambda tx, props: tx.append(empty, snapshot_properties=props)

    outcome = commit_load(catalog, identifier, planned, writer)
    if not outcome.skipped:
        log.info("run %s committed to %s with no rows (state only: watermark %s, %d source file(s))", planned.run_id,
                 identifier, planned.watermark, len(planned.source_files))
    return _result(identifier, target, outcome)


def _already_committed(table: Table, identifier: str, target: Target, run_id: str) -> WriteResult | None:
    """Exactly once: a run id in the table's load state was loaded already (checked again at commit)."""
    if not state.read_state(table).has_run(run_id):
        return None
    log.info("run %s already committed to %s: nothing to do", run_id, identifier)
    return WriteResult(identifier, target.mode, 0, True, None)


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
