"""Quality rules of a pipeline, discriminated on ``rule``, and its profiling settings.

Row-level rules judge each row (``not_null``, ``unique``, ``range``, ``regex``, ``accepted_values``,
``condition``): they may use ``severity: quarantine`` (failing rows go to the tenant's quarantine
table, passing rows load). Table-level rules judge the batch as a whole (``row_count``, ``schema``,
``freshness``, ``duplicates``, ``anomaly``): a batch cannot be partly quarantined, so they take
``error`` or ``warn`` only.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tenantflow.config.durations import duration_seconds, is_duration

Severity = Literal["error", "warn", "quarantine"]
COLUMN_TYPES = ("string", "integer", "float", "decimal", "boolean", "date", "timestamp", "binary")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)
    row_level: ClassVar[bool] = False

    severity: Severity = "error"

    @model_validator(mode="after")
    def _quarantine_needs_rows(self) -> _Rule:
        if self.severity == "quarantine" and not self.row_level:
            rule = getattr(self, "rule", "?")
            raise ValueError(
                f"rule {rule!r} judges the whole batch, so `severity: quarantine` cannot apply "
                "(only row-level rules — not_null, unique, range, regex, accepted_values, condition — "
                "can quarantine rows); use 'error' or 'warn'"
            )
        return self


class NotNullRule(_Rule):
    row_level: ClassVar[bool] = True
    rule: Literal["not_null"]
    column: str


class UniqueRule(_Rule):
    """Unique over one column (``column``) or a compound key (``columns``)."""

    row_level: ClassVar[bool] = True
    rule: Literal["unique"]
    column: str | None = None
    columns: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_key(self) -> UniqueRule:
        if (self.column is None) == (not self.columns):
            raise ValueError("unique needs exactly one of `column: a` or `columns: [a, b]` (a compound key)")
        if self.columns and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"unique `columns` {list(self.columns)} lists a column twice")
        return self

    @property
    def key(self) -> tuple[str, ...]:
        return (self.column,) if self.column else self.columns


class RangeRule(_Rule):
    row_level: ClassVar[bool] = True
    rule: Literal["range"]
    column: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("range needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range min {self.min} is greater than max {self.max}")
        return self


class RegexRule(_Rule):
    row_level: ClassVar[bool] = True
    rule: Literal["regex"]
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
        return value


class AcceptedValuesRule(_Rule):
    row_level: ClassVar[bool] = True
    rule: Literal["accepted_values"]
    column: str
    values: tuple[str | int | float | bool, ...] = Field(min_length=1)


class ConditionRule(_Rule):
    """A cross-field condition every row must meet, e.g. ``end_date >= start_date`` or ``amount > 0``."""

    row_level: ClassVar[bool] = True
    rule: Literal["condition"]
    expression: str = Field(min_length=3)

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        from tenantflow.quality.expressions import parse_condition

        parse_condition(value)  # raises ValueError naming what is allowed
        return value


class RowCountRule(_Rule):
    rule: Literal["row_count"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCountRule:
        if self.min is None and self.max is None:
            raise ValueError("row_count needs `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"row_count min {self.min} is greater than max {self.max}")
        return self


class SchemaRule(_Rule):
    """The batch has these columns with these types; ``exact: true`` also forbids other columns."""

    rule: Literal["schema"]
    columns: dict[str, Literal[COLUMN_TYPES]] = Field(min_length=1)  # type: ignore[valid-type]
    exact: bool = False


class FreshnessRule(_Rule):
    """The newest value of ``column`` (a cursor/timestamp) is at most ``max_age`` old, e.g. ``6h``."""

    rule: Literal["freshness"]
    column: str
    max_age: str

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not is_duration(value):
            raise ValueError(f"max_age {value!r} must be a positive duration like '30m', '6h', '2d' or '1w'")
        return value

    @property
    def max_age_seconds(self) -> int:
        return duration_seconds(self.max_age)


class DuplicatesRule(_Rule):
    """At most ``max_count`` rows (or ``max_percent`` % of rows) repeat an earlier row's ``columns``."""

    rule: Literal["duplicates"]
    columns: tuple[str, ...] = Field(min_length=1)
    max_count: int | None = Field(default=None, ge=0)
    max_percent: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _one_limit(self) -> DuplicatesRule:
        if self.max_count is not None and self.max_percent is not None:
            raise ValueError("duplicates takes `max_count` or `max_percent`, not both")
        return self


class AnomalyRule(_Rule):
    """A batch metric compared with its trailing history (robust z-score over median and MAD)."""

    rule: Literal["anomaly"]
    metric: str = Field(description="row_count, null_rate:<column> or mean:<column>")
    method: Literal["robust_zscore"] = "robust_zscore"
    sensitivity: float = Field(default=3.5, gt=0, description="Fire when |robust z| exceeds this.")
    min_history: int = Field(default=5, ge=2, description="Runs of history needed before the rule can fire.")
    window: int = Field(default=30, ge=2, description="Trailing runs compared against.")
    severity: Literal["error", "warn"] = "warn"  # type: ignore[assignment]

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        kind, _, column = value.partition(":")
        if value == "row_count" or (kind in ("null_rate", "mean") and column):
            return value
        raise ValueError(f"metric {value!r} must be 'row_count', 'null_rate:<column>' or 'mean:<column>'")

    @model_validator(mode="after")
    def _window(self) -> AnomalyRule:
        if self.window < self.min_history:
            raise ValueError(f"window {self.window} is smaller than min_history {self.min_history}")
        return self


QualityRule = Annotated[
    NotNullRule | UniqueRule | RangeRule | RegexRule | AcceptedValuesRule | ConditionRule
    | RowCountRule | SchemaRule | FreshnessRule | DuplicatesRule | AnomalyRule,
    Field(discriminator="rule"),
]


class Profiling(BaseModel):
    """Per-column profile of every batch, kept in ``<namespace>._profiles`` (history for anomaly rules)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)

    enabled: bool = True
    exclude: tuple[str, ...] = Field(default=(), description="Columns never profiled (e.g. personal data).")
    top_values_max_distinct: int = Field(
        default=20, ge=0, le=1000,
        description="Top values are kept only for columns with at most this many distinct values (0: never).",
    )
    top_values: int = Field(default=5, ge=1, le=50, description="How many top values to keep.")
