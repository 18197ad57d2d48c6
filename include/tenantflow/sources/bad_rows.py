"""Malformed source rows: fail naming file, row and value, or reject them with reasons and counts.

``on_bad_rows: fail`` (the default) stops at the first malformed row with an error a data engineer can
act on. ``on_bad_rows: reject`` keeps going: each malformed row is collected with its file, row number,
column, reason and raw text, and written to the pipeline's reject location; logs and XCom get counts only.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from tenantflow.landing.storage import filesystem, join, make_dirs, write_bytes

log = logging.getLogger(__name__)

RAW_TEXT_LIMIT = 2_000  # a rejected row keeps this much of its raw text
ERROR_VALUE_LIMIT = 80  # an error message quotes at most this much of a value


class BadRowError(ValueError):
    """A malformed source row with ``on_bad_rows: fail``; the message names file, row and value."""


class TooManyRejectedRows(ValueError):
    """More rows were rejected than ``max_rejected_rows`` allows."""


def quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= ERROR_VALUE_LIMIT else text[: ERROR_VALUE_LIMIT - 3] + "..."


@dataclass(frozen=True)
class BadRow:
    file: str
    row: int | None  # 1-based data row of the file (CSV/NDJSON: line for line-oriented files)
    column: str | None
    reason: str
    raw: str


@dataclass
class BadRows:
    """Collects malformed rows for one extract; raises at once in ``fail`` mode."""

    mode: Literal["fail", "reject"] = "fail"
    limit: int | None = None
    rows: list[BadRow] = field(default_factory=list)

    def add(self, file: str, row: int | None, reason: str, raw: object = "", column: str | None = None) -> None:
        where = f"{file}, row {row}" if row is not None else file
        col = f", column {column!r}" if column else ""
        if self.mode == "fail":
            raise BadRowError(
                f"{where}{col}: {reason}: {quote(raw)} — fix the file, declare `column_types`, or set "
                "`on_bad_rows: reject` to load the other rows and keep this one in the reject location"
            )
        self.rows.append(BadRow(file, row, column, reason, str(raw)[:RAW_TEXT_LIMIT]))
        if self.limit is not None and len(self.rows) > self.limit:
            raise TooManyRejectedRows(
                f"more than max_rejected_rows={self.limit} malformed rows (latest: {where}{col}: {reason}); "
                "nothing was loaded"
            )

    @property
    def count(self) -> int:
        return len(self.rows)

    def reasons(self) -> dict[str, int]:
        return dict(Counter(f"{r.column}: {r.reason}" if r.column else r.reason for r in self.rows))

    def write(self, location: str, kms_key_id: str | None = None) -> str | None:
        """Write the rejected rows (Parquet) and a JSON summary under ``location``; None when nothing was rejected."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        fs, base = filesystem(location)
        fs.delete_dir_contents(base, missing_dir_ok=True)  # a retried extract rewrites its rejects
        if not self.rows:
            return None
        make_dirs(location)
        table = pa.table({
            "file": [r.file for r in self.rows],
            "row": pa.array([r.row for r in self.rows], pa.int64()),
            "column": [r.column for r in self.rows],
            "reason": [r.reason for r in self.rows],
            "raw": [r.raw for r in self.rows],
        })
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer)
        write_bytes(join(location, "rejects.parquet"), buffer.getvalue().to_pybytes(), kms_key_id)
        summary = {"rejected_rows": self.count, "reasons": self.reasons(),
                   "files": dict(Counter(r.file for r in self.rows))}
        write_bytes(join(location, "_summary.json"), json.dumps(summary, indent=2, sort_keys=True).encode(),
                    kms_key_id)
        log.warning("rejected %d malformed row(s) → %s: %s", self.count, location, self.reasons())
        return location
