"""Incremental filtering of file sources: rows above the text watermark, in the column's own type."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from tenantflow.operators.extract import after_watermark


@pytest.mark.parametrize(
    ("values", "watermark", "kept"),
    [
        ([1, 5, 10], "5", [10]),
        (["2026-11-01", "2026-11-03"], "2026-11-02", ["2026-11-03"]),
        ([datetime(2026, 11, 1, 10), datetime(2026, 11, 2, 9)], "2026-11-01 10:00:00", [datetime(2026, 11, 2, 9)]),
    ],
    ids=["int", "string", "timestamp"],
)
def test_rows_after_the_watermark(values, watermark, kept):
    table = pa.table({"cursor": values, "n": range(len(values))})
    out = pa.concat_tables(list(after_watermark(iter([table]), "cursor", watermark)))
    assert out["cursor"].to_pylist() == kept


def test_missing_cursor_column_is_a_clear_error():
    with pytest.raises(KeyError, match="incremental cursor column 'updated_at' is not in the source"):
        list(after_watermark(iter([pa.table({"id": [1]})]), "updated_at", "1"))
