"""File connector: CSV, NDJSON, JSON arrays and Parquet from local globs; clear errors for bad files."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.sources.bad_rows import BadRowError
from tenantflow.sources.files import SourceFileError, read_files


def source(fmt: str, **kw) -> FilesSource:
    return FilesSource(kind="files", path="sources/finance/x", format=fmt, **kw)


def read(pattern, fmt, **kw) -> pa.Table:
    return pa.concat_tables(list(read_files(str(pattern), source(fmt, **kw))), promote_options="permissive")


def test_csv_glob_reads_all_files_in_order(tmp_path):
    (tmp_path / "a.csv").write_text("id,name\n1,Ann\n2,Bo\n")
    (tmp_path / "b.csv").write_text("id,name\n3,Cy\n")
    (tmp_path / "ignored.txt").write_text("x")
    assert read(tmp_path / "*.csv", "csv")["id"].to_pylist() == [1, 2, 3]


def test_csv_delimiter(tmp_path):
    (tmp_path / "a.csv").write_text("id;name\n1;Ann\n")
    assert read(tmp_path / "a.csv", "csv", csv_delimiter=";")["name"].to_pylist() == ["Ann"]


def test_ndjson_and_json_array(tmp_path):
    (tmp_path / "a.json").write_text('{"id": 1}\n{"id": 2}\n')
    (tmp_path / "b.json").write_text(json.dumps([{"id": 3}, {"id": 4}]))
    assert sorted(read(tmp_path / "*.json", "json")["id"].to_pylist()) == [1, 2, 3, 4]


def test_parquet(tmp_path):
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "a.parquet")
    assert read(tmp_path / "*.parquet", "parquet")["id"].to_pylist() == [1, 2]


def test_no_matching_files_is_a_clear_error(tmp_path):
    with pytest.raises(SourceFileError, match="no files match"):
        read(tmp_path / "*.csv", "csv")


def test_malformed_line_error_names_file_row_and_value(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": 1}\n{"id": \n')
    with pytest.raises(BadRowError, match=r"bad\.json, row 2: not valid JSON .*'\{\"id\": '.*on_bad_rows: reject"):
        read(bad, "json")


def test_unreadable_parquet_names_the_file(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(SourceFileError, match=r"bad\.parquet: cannot read as parquet"):
        read(bad, "parquet")


def test_compressed_files_are_detected_by_extension(tmp_path):
    import gzip

    import zstandard

    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"id,name\n1,Ann\n"))
    (tmp_path / "b.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(b"id,name\n2,Bo\n"))
    assert read(tmp_path / "*.csv.*", "csv")["id"].to_pylist() == [1, 2]
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(b'{"id": 3}\n'))
    assert read(tmp_path / "c.json.gz", "json")["id"].to_pylist() == [3]
