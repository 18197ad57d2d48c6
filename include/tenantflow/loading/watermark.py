"""High-watermark arithmetic on cursor columns: the watermark is stored as text, compared in the column's type."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def behind(watermark: str, seconds: int) -> str:
    """The watermark moved back by a lookback window: timestamps by seconds, numbers by that amount."""
    from datetime import datetime, timedelta

    try:
        moved = datetime.fromisoformat(watermark) - timedelta(seconds=seconds)
    except ValueError:
        try:
            number = float(watermark)
        except ValueError:
            raise ValueError(f"lookback needs a timestamp or numeric cursor; watermark is {watermark!r}") from None
        return str(int(number) - seconds if number.is_integer() and "." not in watermark else number - seconds)
    return moved.isoformat(sep=" ")


def rows_after_watermark(table: pa.Table, cursor: str, watermark: str) -> pa.Table:
    """The rows whose cursor is above the watermark (cast to the column's type)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if cursor not in table.column_names:
        raise KeyError(f"incremental cursor column {cursor!r} is not in the source's columns {table.column_names}")
    column = table[cursor]
    bound = pa.scalar(watermark).cast(column.type)
    return table.filter(pc.greater(column, bound))


def after_watermark(tables: Iterable[pa.Table], cursor: str, watermark: str) -> Iterator[pa.Table]:
    for table in tables:
        yield rows_after_watermark(table, cursor, watermark)


def to_text(value: object) -> str:
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") and not isinstance(value, str) else str(value)
