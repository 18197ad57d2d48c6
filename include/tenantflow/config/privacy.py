"""PII policy of a pipeline: detection, masking per column, auto-masking and column classification.

YAML (in a pipeline file)::

    pii:
      auto: hash              # mask detected PII in columns not listed below (off = detect and fail only)
      columns:
        email: {method: hash}
        card_number: {method: partial, classification: highly_restricted}
        notes: {method: none, classification: restricted}   # known PII, kept clear in a restricted table
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tenantflow.config.base import Classification, Model

ColumnMethod = Literal["hash", "redact", "partial", "drop", "none"]
AutoMethod = Literal["off", "hash", "redact", "partial", "drop"]


class PiiColumn(Model):
    method: ColumnMethod = Field(
        description=(
            "hash = HMAC-SHA256 with the tenant's secret (joinable, not reversible); redact = '[REDACTED]'; "
            "partial = keep the last 4 characters; drop = remove the column; none = keep the value clear "
            "(only allowed into a table classified restricted or above)."
        )
    )
    classification: Classification | None = Field(
        default=None,
        description="Classification of this column; defaults to the pipeline's. Written to Iceberg properties.",
    )


class PiiPolicy(Model):
    detect: bool = Field(default=True, description="Scan each batch (a sample of it) for PII in string columns.")
    auto: AutoMethod = Field(
        default="off",
        description="Masking method for columns where PII is detected but which `columns` does not declare; "
        "'off' masks nothing automatically (a load below 'restricted' then fails on undeclared PII).",
    )
    sample_rows: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Rows sampled (evenly spread) per batch for detection."
    )
    min_ratio: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Share of sampled non-NULL values that must be PII for a column to count as PII.",
    )
    columns: dict[str, PiiColumn] = Field(
        default_factory=dict, description="Declared masking (and classification) per column name."
    )
    secret_connection: str | None = Field(
        default=None,
        description="Airflow connection whose password is the tenant's hashing secret; default '<tenant>__pii'.",
    )

    @model_validator(mode="after")
    def _auto_needs_detect(self) -> PiiPolicy:
        if self.auto != "off" and not self.detect:
            raise ValueError(f"pii.auto: {self.auto!r} masks what detection finds; set `detect: true` or `auto: off`")
        return self

    def declared_methods(self) -> dict[str, str]:
        return {name: column.method for name, column in self.columns.items()}

    def column_classifications(self) -> dict[str, Classification]:
        return {name: c.classification for name, c in self.columns.items() if c.classification is not None}
