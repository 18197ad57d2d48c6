"""Incremental filtering of file sources: rows above the text watermark, in the column's own type."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from tenantflow.loading.watermark import after_watermark


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


@pytest.mark.parametrize(
    ("watermark", "seconds", "expected"),
    [("2026-11-01 10:00:00", 3600, "2026-11-01 09:00:00"),
     ("2026-11-01T10:00:00+00:00", 60, "2026-11-01 09:59:00+00:00"),
     ("1000", 10, "990")],
)
def test_lookback_moves_the_watermark_back(watermark, seconds, expected):
    from tenantflow.operators.extract import behind

    assert behind(watermark, seconds) == expected


def test_lookback_on_a_text_cursor_is_a_clear_error():
    from tenantflow.operators.extract import behind

    with pytest.raises(ValueError, match="lookback needs a timestamp or numeric cursor"):
        behind("abc", 5)


def test_lookback_requires_merge_mode():
    from pydantic import ValidationError

    from tenantflow.config.models import PipelineConfig

    base = {"id": "orders", "source": {"kind": "sql", "connection_id": "finance__erp", "table": "orders"},
            "incremental": {"cursor": "updated_at", "lookback_seconds": 600}}
    with pytest.raises(ValidationError, match="only `target.mode: merge` can absorb"):
        PipelineConfig.model_validate({**base, "target": {"table": "orders", "mode": "append"}})
    PipelineConfig.model_validate({**base, "target": {"table": "orders", "mode": "merge", "merge_keys": ["id"]}})
