"""Write extracted Arrow batches as Parquet parts into a staging folder."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantflow.landing.storage import filesystem, join, make_dirs, write_bytes

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedParts:
    rows: int
    files: list[str]
    schema: Any  # pyarrow.Schema unified over all parts
    max_cursor: Any | None


def write_parts(
    tables: Iterable[pa.Table], staging: str, *, cursor: str | None = None, s3_options: dict | None = None,
    kms_key_id: str | None = None,
) -> StagedParts:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    fs, base = filesystem(staging, s3_options)
    fs.delete_dir_contents(base, missing_dir_ok=True)  # a retried extract starts clean
    make_dirs(staging)
    rows, files, schemas, max_cursor = 0, [], [], None
    for index, table in enumerate(tables):
        if table.num_rows == 0:
            continue
        name = f"part-{index:05d}.parquet"
        if kms_key_id and staging.startswith("s3://"):
            buffer = pa.BufferOutputStream()  # one bounded batch, uploaded with SSE-KMS
            pq.write_table(table, buffer, compression="zstd")
            write_bytes(join(staging, name), buffer.getvalue().to_pybytes(), kms_key_id)
        else:
            with fs.open_output_stream(join(base, name)) as out:
                pq.write_table(table, out, compression="zstd")
        rows += table.num_rows
        files.append(name)
        schemas.append(table.schema)
        if cursor is not None:
            if cursor not in table.column_names:
                raise KeyError(f"incremental cursor column {cursor!r} is not in the source's columns")
            batch_max = pc.max(table[cursor]).as_py()
            if batch_max is not None and (max_cursor is None or batch_max > max_cursor):
                max_cursor = batch_max
        log.info("staged %d rows in %d part(s)", rows, len(files))
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    return StagedParts(rows=rows, files=files, schema=schema, max_cursor=max_cursor)
