"""Scan a batch for PII: per string column, on a deterministic sample, which PII type and how much.

Findings carry counts, a ratio and one *masked* example — never a raw value — so they are safe in
logs, XComs and quality results.

Per column the scan first tries **whole-value** semantics (the values *are* emails, phones, ...); if no
type reaches ``min_ratio`` it tries **contains** semantics (free text embedding PII). Ratios are over the
non-NULL sampled values. A column may yield several findings (e.g. a ``contact`` column holding both
emails and phones), one per type reaching ``min_ratio``, most frequent first.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Literal

from tenantflow.pii import detectors as registry
from tenantflow.pii.findings import ColumnFinding
from tenantflow.pii.masking import masked_sample

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

DEFAULT_SAMPLE_ROWS = 10_000
# One PII value in ten is enough to treat a column as PII: masking a clean column costs little,
# loading an unmasked one is a leak.
DEFAULT_MIN_RATIO = 0.1


def sample_indices(num_rows: int, sample_rows: int) -> list[int]:
    """Evenly spaced row positions over the whole batch: deterministic, and not just its head."""
    if num_rows <= sample_rows:
        return list(range(num_rows))
    return [i * num_rows // sample_rows for i in range(sample_rows)]


def _is_text(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type)


def scan_values(column: str, values: list[str], min_ratio: float) -> list[ColumnFinding]:
    """Findings for one column's non-NULL sampled values."""
    if not values:
        return []
    whole: Counter[str] = Counter()
    first: dict[str, str] = {}
    for value in values:
        if pii_type := registry.classify_value(value):
            whole[pii_type] += 1
            first.setdefault(pii_type, value.strip())
    findings = _findings(column, "value", whole, first, len(values), min_ratio)
    if findings:
        return findings
    embedded: Counter[str] = Counter()
    first = {}
    for value in values:
        if hit := registry.find_in_text(value):
            embedded[hit[0]] += 1
            first.setdefault(hit[0], hit[1])
    return _findings(column, "contains", embedded, first, len(values), min_ratio)


def _findings(
    column: str,
    match: Literal["value", "contains"],
    counts: Counter[str],
    first: dict[str, str],
    sampled: int,
    min_ratio: float,
) -> list[ColumnFinding]:
    return [
        ColumnFinding(
            column, pii_type, match, n, sampled, round(n / sampled, 4), masked_sample(first[pii_type], pii_type)
        )
        for pii_type, n in counts.most_common()
        if n / sampled >= min_ratio
    ]


def scan_table(
    table: pa.Table, *, sample_rows: int = DEFAULT_SAMPLE_ROWS, min_ratio: float = DEFAULT_MIN_RATIO
) -> list[ColumnFinding]:
    """PII findings for every string column of ``table`` (sampled deterministically)."""
    import pyarrow as pa

    if sample_rows < 1 or not 0 < min_ratio <= 1:
        raise ValueError(f"sample_rows must be >= 1 and 0 < min_ratio <= 1 (got {sample_rows}, {min_ratio})")
    text_columns = [field.name for field in table.schema if _is_text(field.type)]
    if not text_columns or table.num_rows == 0:
        return []
    indices = pa.array(sample_indices(table.num_rows, sample_rows), pa.int64())
    findings: list[ColumnFinding] = []
    for name in text_columns:
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())  # dictionary / string_view: not every type has a take kernel
        values = [v for v in column.take(indices).to_pylist() if v is not None]
        findings.extend(scan_values(name, values, min_ratio))
    log.info(
        "PII scan: %d of %d text column(s) flagged on %d sampled row(s): %s",
        len({f.column for f in findings}),
        len(text_columns),
        len(indices),
        "; ".join(f.describe() for f in findings) or "none",
    )
    return findings
