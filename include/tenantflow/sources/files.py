"""File sources: local paths, s3:// URIs (the tenant's AWS connection) or gs:// / az:// / abfs:// URIs
(``cloud_files``: the tenant's GCP or Azure connection), with glob patterns.

``FilesSourceHook`` is an ``AwsBaseHook`` on the tenant's own ``aws`` connection, so everything that
connection type offers works for a tenant's bucket: access keys, ``role_arn`` (STS assume-role),
web identity, a profile, or (no connection) the environment's credential chain. pyarrow's S3
filesystem gets the resulting credentials (session token included) and the connection's region and
endpoint. Formats are read by ``file_formats``; declared ``column_types`` are applied to every table.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import logging
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from tenantflow.config.models import FilesSource
from tenantflow.isolation.guards import require_own_connection
from tenantflow.sources.bad_rows import BadRowError, BadRows, TooManyRejectedRows
from tenantflow.sources.base import ExtractRequest, SourceRead, after_watermark_if_needed
from tenantflow.sources.column_types import apply_column_types
from tenantflow.sources.file_formats import READERS, SourceFileError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow import fs as pafs

    from tenantflow.sources.cloud_files import _CloudFilesHook

log = logging.getLogger(__name__)

__all__ = ["FilesSourceHook", "SourceFileError", "list_files", "matching_files", "read_file", "read_files"]


class FilesSourceHook(AwsBaseHook):
    """A tenant's file source; ``connection_id`` None reads local paths (or S3 with the environment's chain)."""

    hook_name = "tenantflow file source"

    def __init__(self, *, tenant_id: str, connection_id: str | None = None, **kwargs: Any) -> None:
        if connection_id is not None:
            require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        # aws_conn_id=None, not the platform's aws_default: a tenant never borrows the platform's identity
        super().__init__(aws_conn_id=connection_id, client_type="s3", **kwargs)
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self._cloud_hook: _CloudFilesHook | None = None

    @cached_property
    def s3_options(self) -> dict[str, Any]:
        """pyarrow S3FileSystem options: the connection's (possibly assumed-role) credentials, region, endpoint."""
        from tenantflow.landing.s3 import pyarrow_s3_options

        return pyarrow_s3_options(self)

    def s3_filesystem(self) -> pafs.S3FileSystem:
        from pyarrow import fs as pafs

        return pafs.S3FileSystem(**self.s3_options)

    def cloud_hook(self, pattern: str) -> _CloudFilesHook:
        """The gs:// / az:// hook on the same tenant connection (a google_cloud_platform or wasb one)."""
        from tenantflow.isolation.guards import require_own_location
        from tenantflow.sources.cloud_files import cloud_files_hook

        require_own_location(self.tenant_id, pattern)  # every read and listing: never another tenant's bucket
        if self._cloud_hook is None:  # one source, one store: built (and its connection read) once
            self._cloud_hook = cloud_files_hook(pattern, self.tenant_id, self.connection_id)
        return self._cloud_hook

    def _s3_for(self, pattern: str) -> pafs.FileSystem | None:
        from tenantflow.object_stores import cloud_scheme

        if cloud_scheme(pattern):
            return self.cloud_hook(pattern).pyarrow_filesystem()
        return self.s3_filesystem() if pattern.startswith("s3://") else None

    def list(self, pattern: str) -> list[str]:
        from tenantflow.object_stores import cloud_scheme

        if cloud_scheme(pattern):
            if not (files := self.cloud_hook(pattern).list(pattern)):
                raise SourceFileError(f"no files match {pattern!r}; check source.path")
            return files
        return matching_files(pattern, self._s3_for(pattern))

    def read(
        self, pattern: str, source: FilesSource, files: list[str] | None = None, bad_rows: BadRows | None = None
    ) -> Iterator[pa.Table]:
        files = self.list(pattern) if files is None else files
        yield from read_files(pattern, source, self._s3_for(pattern), files, bad_rows)

    def extract(self, request: ExtractRequest) -> SourceRead:
        source = request.source
        if not isinstance(source, FilesSource):
            raise TypeError(f"{type(self).__name__} reads files sources, not {source.kind!r}")
        pattern = request.location(source.path)
        if request.notified_files is not None:  # a file-arrival run: exactly the notified objects
            files = list(request.notified_files)
            log.info("%d notified file(s) (not listing %s)", len(files), pattern)
        else:
            files = self.list(pattern)
        if request.loaded_files is not None:
            # append/merge: files committed by earlier runs are never read again
            loaded = request.loaded_files(files)
            skipped = [f for f in files if f in loaded]
            files = [f for f in files if f not in loaded]
            log.info("%d new file(s) to load, %d already loaded", len(files), len(skipped))
        tables = self.read(pattern, source, files, request.bad_rows)
        return SourceRead(after_watermark_if_needed(tables, request), pattern, files)


def _filesystem(uri: str, s3: pafs.FileSystem | None) -> tuple[pafs.FileSystem, str]:
    import os

    from pyarrow import fs as pafs

    scheme, sep, rest = uri.partition("://")
    if sep:  # s3://, gs://, az://, abfs://: the filesystem of the tenant's connection, paths without the scheme
        if s3 is None:
            raise ValueError(f"{uri}: {scheme}:// sources are read through FilesSourceHook (the tenant's connection)")
        return s3, rest
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def list_files(pattern: str, s3: pafs.FileSystem | None = None) -> list[str]:
    """Files matching ``pattern`` (sorted, so loads are deterministic)."""
    if not pattern.startswith("s3://"):
        return sorted(p for p in glob.glob(pattern, recursive=True) if not p.endswith("/"))
    from pyarrow import fs as pafs

    fs, path = _filesystem(pattern, s3)
    prefix = path.split("*", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]
    try:
        infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise SourceFileError(f"cannot list {pattern!r}: {exc}") from exc
    return sorted(f"s3://{i.path}" for i in infos if i.type == pafs.FileType.File and fnmatch.fnmatch(i.path, path))


def read_file(
    uri: str, source: FilesSource, s3: pafs.FileSystem | None = None, bad_rows: BadRows | None = None
) -> Iterator[pa.Table]:
    import pyarrow as pa

    bad_rows = bad_rows if bad_rows is not None else BadRows(source.on_bad_rows, source.max_rejected_rows)
    fs, path = _filesystem(uri, s3)
    first_row, already_bad = 1, bad_rows.count
    try:
        for table in READERS[source.format](fs, path, uri, source, bad_rows):
            rows = table.num_rows
            if source.column_types:
                # rows the reader skipped are not in the table: number the others as in the file
                skipped = sorted(r.row for r in bad_rows.rows[already_bad:] if r.row is not None)
                table = apply_column_types(table, source.column_types, file=uri, first_row=first_row,
                                           bad_rows=bad_rows, skipped=skipped)
            first_row += rows
            yield table
    except (BadRowError, TooManyRejectedRows, SourceFileError):
        raise
    except (pa.ArrowInvalid, json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        hint = ("; declare the column in `column_types` to have the offending rows named (or rejected)"
                if "conversion error" in str(exc) or "changed from" in str(exc) else "")
        raise SourceFileError(f"{uri}: cannot read as {source.format}: {exc}{hint}") from exc
    except OSError as exc:
        raise SourceFileError(f"{uri}: cannot open: {exc}") from exc


def matching_files(pattern: str, s3: pafs.FileSystem | None = None) -> list[str]:
    files = list_files(pattern, s3)
    if not files:
        raise SourceFileError(f"no files match {pattern!r}; check source.path")
    return files


def read_files(
    pattern: str,
    source: FilesSource,
    s3: pafs.FileSystem | None = None,
    files: list[str] | None = None,
    bad_rows: BadRows | None = None,
) -> Iterator[pa.Table]:
    """Rows of every file matching ``pattern`` (or of ``files``, already chosen from those matches)."""
    bad_rows = bad_rows if bad_rows is not None else BadRows(source.on_bad_rows, source.max_rejected_rows)
    for uri in matching_files(pattern, s3) if files is None else files:
        rows, rejected = 0, bad_rows.count
        for table in read_file(uri, source, s3, bad_rows):
            rows += table.num_rows
            yield table
        log.info("read %d rows from %s%s", rows, uri,
                 f" ({bad_rows.count - rejected} rejected)" if bad_rows.count > rejected else "")
