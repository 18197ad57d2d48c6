"""What a PII scan found in one column: counts, a ratio and one masked example, never a raw value."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass(frozen=True)
class ColumnFinding:
    column: str
    pii_type: str
    match: Literal["value", "contains"]
    matched: int
    sampled: int
    ratio: float
    example: str  # masked, e.g. "j***@example.com"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        how = "values are" if self.match == "value" else "values contain"
        return f"{self.column}: {self.matched}/{self.sampled} sampled {how} {self.pii_type} (e.g. {self.example})"
