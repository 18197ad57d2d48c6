"""Avro files, CSV options and declared column types: types survive, options are honoured."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import fastavro
import pyarrow as pa
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.sources.files import SourceFileError, read_files

AVRO_SCHEMA = {
    "type": "record", "name": "Lab", "fields": [
        {"name": "id", "type": "long"},
        {"name": "patient", "type": ["null", "string"]},
        {"name": "value", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
        {"name": "taken_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "flags", "type": {"type": "array", "items": "string"}},
        {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["final", "draft"]}},
    ],
}


def source(fmt: str, **kw) -> FilesSource:
    return FilesSource(kind="files", path="sources/x", format=fmt, **kw)


def read(pattern, fmt, **kw) -> pa.Table:
    return pa.concat_tables(list(read_files(str(pattern), source(fmt, **kw))), promote_options="permissive")


def write_avro(path, records, codec="deflate"):
    with open(path, "wb") as out:
        fastavro.writer(out, fastavro.parse_schema(AVRO_SCHEMA), records, codec=codec)


def avro_record(i: int) -> dict:
    return {"id": i, "patient": None if i % 2 else f"P{i}", "value": Decimal(f"{i}.125"),
            "taken_at": dt.datetime(2026, 11, 1, 8, i % 60, tzinfo=dt.UTC), "day": dt.date(2026, 11, 1),
            "flags": ["h"] * (i % 3), "status": "final"}


def test_avro_types_and_values_round_trip(tmp_path):
    write_avro(tmp_path / "a.avro", [avro_record(i) for i in range(3)])
    write_avro(tmp_path / "b.avro", [avro_record(3)], codec="null")
    table = read(tmp_path / "*.avro", "avro")
    assert table.schema.field("value").type == pa.decimal128(10, 3)
    assert table.schema.field("taken_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("flags").type == pa.list_(pa.field("item", pa.string(), nullable=False))
    assert table.to_pylist() == [avro_record(i) for i in range(4)]


def test_avro_large_file_streams_in_bounded_batches(tmp_path):
    write_avro(tmp_path / "big.avro", (avro_record(i) for i in range(120_000)))
    sizes = [t.num_rows for t in read_files(str(tmp_path / "big.avro"), source("avro"))]
    assert sum(sizes) == 120_000 and max(sizes) <= 50_000


def test_csv_without_header_and_latin1_encoding(tmp_path):
    (tmp_path / "a.csv").write_bytes("1|Müller\n2|Ødegård\n".encode("latin-1"))
    table = read(tmp_path / "a.csv", "csv", csv_header=False, csv_delimiter="|", encoding="latin-1")
    assert table.column_names == ["f0", "f1"]
    assert table["f1"].to_pylist() == ["Müller", "Ødegård"]


def test_declared_column_types_convert_csv_and_json(tmp_path):
    (tmp_path / "a.csv").write_text("id,amount,at\n1,10.50,2026-11-01 10:00:00\n2,3,2026-11-02T00:00:00\n")
    (tmp_path / "a.json").write_text('{"id": "1", "amount": 10.5}\n{"id": 2, "amount": "3"}\n')
    types = {"id": "int64", "amount": "decimal(10,2)"}
    csv = read(tmp_path / "a.csv", "csv", column_types={**types, "at": "timestamp"})
    assert csv.schema.field("amount").type == pa.decimal128(10, 2)
    assert csv["amount"].to_pylist() == [Decimal("10.50"), Decimal("3.00")]
    assert csv["at"].to_pylist()[1] == dt.datetime(2026, 11, 2)
    js = read(tmp_path / "a.json", "json", column_types=types)
    assert js["id"].to_pylist() == [1, 2] and js["amount"].to_pylist() == [Decimal("10.50"), Decimal("3.00")]


def test_undeclared_type_conflict_suggests_declaring_the_column(tmp_path):
    rows = "\n".join(f"{i},{i}" for i in range(1, 300_000))
    (tmp_path / "a.csv").write_text(f"id,amount\n{rows}\n300000,abc\n")
    with pytest.raises(SourceFileError, match=r"a\.csv: cannot read as csv: .*declare the column in `column_types`"):
        read(tmp_path / "a.csv", "csv")


def test_csv_options_only_for_csv():
    with pytest.raises(ValueError, match="apply to format 'csv', not 'json'"):
        source("json", csv_header=False)
    with pytest.raises(ValueError, match="unknown encoding 'latin-42'"):
        source("csv", encoding="latin-42")
    with pytest.raises(ValueError, match="String should match pattern"):
        source("csv", column_types={"id": "integer"})


# --------------------------------------------------------------------------- bad rows


def test_reject_mode_keeps_good_rows_and_names_each_bad_one(tmp_path):
    from tenantflow.sources.bad_rows import BadRows

    (tmp_path / "a.csv").write_text("id,amount\n1,10\n2,1;2;3\n3,abc\n4,4\n5\n6,6\n")
    bad = BadRows("reject")
    table = pa.concat_tables(list(read_files(str(tmp_path / "a.csv"), source(
        "csv", column_types={"id": "int64", "amount": "int64"}, on_bad_rows="reject"), bad_rows=bad)))
    assert table.to_pydict() == {"id": [1, 4, 6], "amount": [10, 4, 6]}
    assert sorted((r.row, r.column or "", r.reason, r.raw) for r in bad.rows) == [
        (2, "amount", "not a valid int64", "1;2;3"),
        (3, "amount", "not a valid int64", "abc"),
        (5, "", "expected 2 columns, found 1", "5"),
    ]
    assert bad.reasons() == {"amount: not a valid int64": 2, "expected 2 columns, found 1": 1}


def test_reject_mode_row_numbers_count_skipped_lines(tmp_path):
    from tenantflow.sources.bad_rows import BadRows

    (tmp_path / "a.csv").write_text("id,v\n1,a\n2\n3\n4,b\nx,c\n")
    bad = BadRows("reject")
    table = pa.concat_tables(list(read_files(str(tmp_path / "a.csv"), source(
        "csv", column_types={"id": "int64"}, on_bad_rows="reject"), bad_rows=bad)))
    assert table["id"].to_pylist() == [1, 4]
    assert sorted((r.row, r.column) for r in bad.rows) == [(2, None), (3, None), (5, "id")]


def test_reject_mode_ndjson_malformed_lines(tmp_path):
    from tenantflow.sources.bad_rows import BadRows

    (tmp_path / "a.json").write_text('{"id": 1}\n{"id": \n[1, 2]\n{"id": 4}\n')
    bad = BadRows("reject")
    table = pa.concat_tables(list(read_files(str(tmp_path / "a.json"), source("json", on_bad_rows="reject"),
                                             bad_rows=bad)))
    assert table["id"].to_pylist() == [1, 4]
    assert [(r.row, r.reason.split(" (")[0]) for r in bad.rows] == [(2, "not valid JSON"),
                                                                    (3, "a JSON line must be an object")]


def test_fail_mode_names_file_row_column_and_value(tmp_path):
    from tenantflow.sources.bad_rows import BadRowError

    (tmp_path / "a.csv").write_text("id,amount\n1,10\n2,12,5\n")
    with pytest.raises(BadRowError, match=r"a\.csv, row 2: expected 2 columns, found 3: '2,12,5'"):
        read(tmp_path / "a.csv", "csv")
    (tmp_path / "a.csv").write_text("id,amount\n1,10\n2,ten\n")
    with pytest.raises(BadRowError, match=r"a\.csv, row 2, column 'amount': not a valid int64: 'ten'"):
        read(tmp_path / "a.csv", "csv", column_types={"amount": "int64"})


def test_too_many_rejected_rows_fails_the_extract(tmp_path):
    from tenantflow.sources.bad_rows import BadRows, TooManyRejectedRows

    (tmp_path / "a.csv").write_text("id\n1\nx\ny\nz\n")
    with pytest.raises(TooManyRejectedRows, match="more than max_rejected_rows=2"):
        list(read_files(str(tmp_path / "a.csv"), source("csv", column_types={"id": "int64"}, on_bad_rows="reject",
                                                         max_rejected_rows=2), bad_rows=BadRows("reject", 2)))


def test_rejected_rows_are_written_with_a_summary(tmp_path):
    import json

    import pyarrow.parquet as pq

    from tenantflow.sources.bad_rows import BadRows

    bad = BadRows("reject")
    bad.add("s3://b/a.csv", 7, "not a valid int64", "x", "id")
    location = bad.write(str(tmp_path / "rejects"))
    assert pq.read_table(f"{location}/rejects.parquet").to_pylist() == [
        {"file": "s3://b/a.csv", "row": 7, "column": "id", "reason": "not a valid int64", "raw": "x"}]
    assert json.loads((tmp_path / "rejects" / "_summary.json").read_text())["reasons"] == {
        "id: not a valid int64": 1}
    assert BadRows("reject").write(str(tmp_path / "rejects")) is None
    assert not (tmp_path / "rejects" / "rejects.parquet").exists(), "a retried extract replaces earlier rejects"
