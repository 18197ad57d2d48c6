"""File sources: local paths or s3:// URIs with glob patterns; CSV, JSON (NDJSON or array), Parquet."""

from __future__ import annotations

import fnmatch
import glob
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tenantflow.config.models import FilesSource
from tenantflow.landing.storage import filesystem

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


class SourceFileError(ValueError):
    """A source file cannot be read; the message names the file and the problem."""


def list_files(pattern: str, s3_options: dict[str, Any] | None = None) -> list[str]:
    """Files matching ``pattern`` (sorted, so loads are deterministic)."""
    if not pattern.startswith("s3://"):
        return sorted(p for p in glob.glob(pattern, recursive=True) if not p.endswith("/"))
    from pyarrow import fs as pafs

    fs, path = filesystem(pattern, s3_options)
    prefix = path.split("*", 1)[0].split("?", 1)[0].rsplit("/", 1)[0]
    infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    return sorted(f"s3://{i.path}" for i in infos if i.type == pafs.FileType.File and fnmatch.fnmatch(i.path, path))


def read_file(uri: str, source: FilesSource, s3_options: dict[str, Any] | None = None) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    fs, path = filesystem(uri, s3_options)
    try:
        if source.format == "parquet":
            with fs.open_input_file(path) as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=100_000):
                    yield pa.Table.from_batches([batch])
            return
        # gzip / zstd / bz2 / lz4 are detected from the file extension (orders.csv.gz, events.json.zst)
        with fs.open_input_stream(path, compression="detect") as stream:
            if source.format == "csv":
                reader = pacsv.open_csv(
                    stream, parse_options=pacsv.ParseOptions(delimiter=source.csv_delimiter)
                )
                for batch in reader:
                    yield pa.Table.from_batches([batch])
                return
            data = stream.read()
        if data.lstrip()[:1] == b"[":
            records = json.loads(data)
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise SourceFileError(f"{uri}: a JSON array must contain objects (one per row)")
            yield pa.Table.from_pylist(records)
        else:
            yield pajson.read_json(pa.BufferReader(data))
    except (pa.ArrowInvalid, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFileError(f"{uri}: cannot read as {source.format}: {exc}") from exc


def matching_files(pattern: str, s3_options: dict[str, Any] | None = None) -> list[str]:
    files = list_files(pattern, s3_options)
    if not files:
        raise SourceFileError(f"no files match {pattern!r}; check source.path")
    return files


def read_files(
    pattern: str, source: FilesSource, s3_options: dict[str, Any] | None = None, files: list[str] | None = None
) -> Iterator[pa.Table]:
    """Rows of every file matching ``pattern`` (or of ``files``, already chosen from those matches)."""
    for uri in matching_files(pattern, s3_options) if files is None else files:
        rows = 0
        for table in read_file(uri, source, s3_options):
            rows += table.num_rows
            yield table
        log.info("read %d rows from %s", rows, uri)
