"""Write extracted Arrow batches as Parquet parts into a staging folder.

Each part is serialized once into memory (one bounded batch), hashed there and written, so its
size and SHA-256 are known without reading it back (``_parts.json``, copied into the manifest).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantflow.landing.integrity import part_record, write_staged_parts
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
    parts: tuple[dict[str, Any], ...] = ()  # {"name", "rows", "bytes", "sha256"} per part


def write_parts(
    tables: Iterable[pa.Table], staging: str, *, cursor: str | None = None,
    kms_key_id: str | None = None,
) -> StagedParts:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    fs, base = filesystem(staging)
    fs.delete_dir_contents(base, missing_dir_ok=True)  # a retried extract starts clean
    make_dirs(staging)
    rows, files, records, schemas, max_cursor = 0, [], [], [], None
    for index, table in enumerate(tables):
        if table.num_rows == 0:
            continue
        name = f"part-{index:05d}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue()
        records.append(part_record(name, data, table.num_rows))
        if kms_key_id and staging.startswith("s3://"):
            write_bytes(join(staging, name), data.to_pybytes(), kms_key_id)  # uploaded with SSE-KMS
        else:
            with fs.open_output_stream(join(base, name)) as out:
                out.write(data)
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
    write_staged_parts(staging, records, kms_key_id)
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    return StagedParts(rows=rows, files=files, schema=schema, max_cursor=max_cursor, parts=tuple(records))
