"""Append a landed batch by adding its Parquet parts to the table, without re-encoding a row.

The landed parts are already Iceberg-compatible (the extract normalises types), so for an
``append`` into an unpartitioned table whose schema matches the parts exactly, each part is
copied into the table's data folder and registered with ``add_files`` in one snapshot that
carries the run's load state. Anything else (partitioned tables, schema differences) is not
eligible and the caller writes the rows instead.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)
COPY_CHUNK = 8 * 1024 * 1024


def can_add_files(table: Table, part_schemas: Sequence[object]) -> bool:
    if not table.spec().is_unpartitioned():
        return False
    expected = table.schema().as_arrow()
    return all(_same_columns(schema, expected) for schema in part_schemas)


def _same_columns(schema, expected) -> bool:  # noqa: ANN001 - pyarrow schemas
    from tenantflow.loading.arrow_types import plain_type

    return [(f.name, plain_type(f.type)) for f in schema] == [(f.name, plain_type(f.type)) for f in expected]


def copy_parts(table: Table, parts: Sequence[str]) -> list[str]:
    """Copy ``parts`` (absolute local paths or landing URIs) under the table's data folder; returns the copies.

    The caller registers them with ``add_files`` in its commit; copies of a commit that never lands
    are unreferenced files, removed by the maintenance DAG's orphan step.
    """
    from pyarrow import fs as pafs

    from tenantflow.landing.storage import filesystem

    location = table.location().rstrip("/") + "/data"
    commit = uuid.uuid4().hex[:12]
    targets = []
    for index, part in enumerate(parts):
        src_fs, src = filesystem(part)
        target = f"{location}/{commit}-{index:05d}.parquet"
        if _encrypts(table):  # written through the table's FileIO, under the tenant's KMS key
            with src_fs.open_input_stream(src) as data, table.io.new_output(target).create(overwrite=True) as out:
                shutil.copyfileobj(data, out, COPY_CHUNK)
            targets.append(target)
            continue
        dst_fs, dst = filesystem(target.removeprefix("file://"))
        dst_fs.create_dir(dst.rsplit("/", 1)[0], recursive=True)
        if type(src_fs) is type(dst_fs) and not isinstance(src_fs, pafs.PyFileSystem):
            src_fs.copy_file(src, dst)
        else:  # landing and warehouse on different stores (e.g. GCS landing, local or S3 warehouse): streamed
            pafs.copy_files(src, dst, source_filesystem=src_fs, destination_filesystem=dst_fs)
        targets.append(target)
    return targets


def _encrypts(table: Table) -> bool:
    from tenantflow.catalog.sse_kms_io import SseKmsFileIO

    return isinstance(table.io, SseKmsFileIO)
