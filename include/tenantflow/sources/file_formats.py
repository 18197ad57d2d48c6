"""File formats of a files source: CSV, JSON (NDJSON or array), Parquet, Avro, each a reader in ``READERS``.

Every reader streams bounded Arrow tables from an open pyarrow filesystem; malformed rows go to the
extract's ``BadRows`` (fail at once, or rejected with reasons: ``on_bad_rows``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tenantflow.config.models import FilesSource
from tenantflow.sources.bad_rows import BadRowError, BadRows

if TYPE_CHECKING:
    import pyarrow as pa

NDJSON_FALLBACK_BATCH = 50_000


class SourceFileError(ValueError):
    """A source file cannot be read; the message names the file and the problem."""


# --------------------------------------------------------------------------- format readers
# reader(fs, path, uri, source, bad_rows) -> Arrow tables


def _read_parquet(fs: Any, path: str, uri: str, source: FilesSource, bad_rows: BadRows) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with fs.open_input_file(path) as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=100_000):
            yield pa.Table.from_batches([batch])


def _read_avro(fs: Any, path: str, uri: str, source: FilesSource, bad_rows: BadRows) -> Iterator[pa.Table]:
    from tenantflow.sources.avro import read_avro

    with fs.open_input_file(path) as handle:
        yield from read_avro(handle)


def _read_csv(fs: Any, path: str, uri: str, source: FilesSource, bad_rows: BadRows) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def on_invalid_row(row: Any) -> str:
        reason = f"expected {row.expected_columns} columns, found {row.actual_columns}"
        data_row = None if row.number is None else row.number - (1 if source.csv_header else 0)
        try:
            bad_rows.add(uri, data_row, reason, row.text)
        except BadRowError as exc:
            failures.append(exc)
            return "error"
        return "skip"

    failures: list[BadRowError] = []
    declared = {column: pa.string() for column in source.column_types}  # converted by apply_column_types
    # gzip / zstd / bz2 / lz4 are detected from the file extension (orders.csv.gz)
    with fs.open_input_stream(path, compression="detect") as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                # single-threaded parsing: the invalid-row handler then knows line numbers
                read_options=pacsv.ReadOptions(encoding=source.encoding, use_threads=False,
                                               autogenerate_column_names=not source.csv_header),
                parse_options=pacsv.ParseOptions(delimiter=source.csv_delimiter, invalid_row_handler=on_invalid_row),
                convert_options=pacsv.ConvertOptions(column_types=declared),
            )
            for batch in reader:
                yield pa.Table.from_batches([batch])
        except pa.ArrowInvalid:
            if failures:
                raise failures[0] from None
            raise


def _read_json(fs: Any, path: str, uri: str, source: FilesSource, bad_rows: BadRows) -> Iterator[pa.Table]:
    import pyarrow as pa
    import pyarrow.json as pajson

    with fs.open_input_stream(path, compression="detect") as stream:
        data = stream.read()
    if data.lstrip()[:1] == b"[":
        records = json.loads(data)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SourceFileError(f"{uri}: a JSON array must contain objects (one per row)")
        yield _from_records(records, source)
        return
    try:
        yield pajson.read_json(pa.BufferReader(data), parse_options=_json_parse_options(source))
    except pa.ArrowInvalid:
        # a malformed line or a value of another type: re-read line by line to name (or reject) the rows
        yield from _read_ndjson_lines(data, uri, source, bad_rows)


def _json_parse_options(source: FilesSource) -> Any:
    import pyarrow as pa
    import pyarrow.json as pajson

    if not source.column_types:
        return None
    fields = [pa.field(c, pa.string()) for c in source.column_types]
    return pajson.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="infer")


def _read_ndjson_lines(data: bytes, uri: str, source: FilesSource, bad_rows: BadRows) -> Iterator[pa.Table]:
    records: list[dict] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            bad_rows.add(uri, number, f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})",
                         line.decode(errors="replace"))
            continue
        if not isinstance(record, dict):
            bad_rows.add(uri, number, "a JSON line must be an object", line.decode(errors="replace"))
            continue
        records.append(record)
        if len(records) >= NDJSON_FALLBACK_BATCH:
            yield _from_records(records, source)
            records = []
    if records:
        yield _from_records(records, source)


def _from_records(records: list[dict], source: FilesSource) -> pa.Table:
    import pyarrow as pa

    if source.column_types:  # declared columns as text here; apply_column_types converts them
        records = [{**r, **{c: None if r.get(c) is None else str(r[c]) for c in source.column_types}}
                   for r in records]
    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceFileError(
            f"values of different types in one field ({exc}); declare the field in `column_types`"
        ) from exc


READERS: dict[str, Callable[..., Iterator[pa.Table]]] = {
    "csv": _read_csv, "json": _read_json, "parquet": _read_parquet, "avro": _read_avro,
}
