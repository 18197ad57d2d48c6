"""Quality rules of a pipeline, discriminated on ``rule``, and its profiling settings.

Row-level rules judge each row (``not_null``, ``unique``, ``range``, ``regex``, ``accepted_values``,
``condition``): they may use ``severity: quarantine`` (failing rows go to the tenant's quarantine
table, passing rows load). Table-level rules judge the batch as a whole (``row_count``, ``schema``,
``freshness``, ``duplicates``, ``anomaly``): a batch cannot be partly quarantined, so they take
``error`` or ``warn`` only.

Native Great Expectations expectations (``GxExpectation``: ``{gx: <expectation type>, kwargs: {...}}``)
sit in the same ``quality:`` list; they are checked against GX's registry (a checked-in catalogue,
``gx_catalogue``) without importing GX, which parsing a DAG file must not pay for.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from tenantflow.config import gx_catalogue
from tenantflow.config.base import Model
from tenantflow.config.durations import duration_seconds, is_duration

Severity = Literal["error", "warn", "quarantine"]
COLUMN_TYPES = ("string", "integer", "float", "decimal", "boolean", "date", "timestamp", "binary")


class _Rule(Model):
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
        if problem := re2_unsupported(value):
            raise ValueError(f"pattern {value!r} uses {problem}, which RE2 (the regex engine that judges "
                             "the rule, in DuckDB) does not support; rewrite it without it")
        return value


# What Python's ``re`` accepts but RE2 does not (https://github.com/google/re2/wiki/Syntax). Checked
# on Python's own parse tree, so config validation needs no DuckDB (DAG parsing stays light);
# tests hold this list to DuckDB's answers.
_RE2_MISSING = {
    "ASSERT": "a look-ahead/look-behind", "ASSERT_NOT": "a negative look-ahead/look-behind",
    "GROUPREF": "a back-reference", "GROUPREF_EXISTS": "a conditional group", "ATOMIC_GROUP": "an atomic group",
    "POSSESSIVE_REPEAT": "a possessive quantifier",
}
_RE2_FLAGS = {re.VERBOSE: "the verbose flag (?x)", re.ASCII: "the ASCII flag (?a)", re.LOCALE: "the locale flag (?L)"}


def re2_unsupported(pattern: str) -> str | None:
    """What in ``pattern`` RE2 cannot run (e.g. 'a back-reference'), or None. ``pattern`` compiles in ``re``."""
    import re._parser as sre_parse  # Python's own regex parser: the exact syntax tree re would run

    tree = sre_parse.parse(pattern)
    flags = next((name for flag, name in _RE2_FLAGS.items() if tree.state.flags & flag), None)
    return flags or _re2_escapes(pattern) or _re2_walk(tree)


def _re2_escapes(pattern: str) -> str | None:
    """Escapes Python's parser turns into plain characters but RE2 lacks: \\uXXXX, \\UXXXXXXXX, \\N{name}."""
    escaped = False
    for char in pattern:
        if escaped and char in "uUN":
            return f"the escape \\{char} (use \\xHH or the character itself)"
        escaped = not escaped and char == "\\"
    return None


def _re2_walk(node: Any) -> str | None:
    import re._constants as c

    for op, arg in node:
        name = str(op)
        if name in _RE2_MISSING:
            return _RE2_MISSING[name]
        if op is c.AT and arg is c.AT_END_STRING:
            return r"\Z (use $)"
        if op is c.SUBPATTERN:
            if arg[1] & ~re.IGNORECASE & ~re.MULTILINE & ~re.DOTALL & ~re.UNICODE:
                return "a scoped flag other than i, m, s"
            children = [arg[3]]
        elif op is c.BRANCH:
            children = list(arg[1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            children = [arg[2]]
        else:
            continue
        for child in children:
            if found := _re2_walk(child):
                return found
    return None


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


class KwargError(ValueError):
    """A wrong value below the validated field: the config error points at ``path`` inside it (e.g. the
    key inside ``kwargs``), not at the field's first line."""

    def __init__(self, key: str | int, message: str, *, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = (*path, key)


class GxExpectation(Model):
    """A native Great Expectations expectation, run by GX on the batch; its verdict is the outcome.

    ``severity`` is ``error`` or ``warn``: GX reports how many rows failed but, outside its
    ``COMPLETE`` result format (a list of every failing row's index, which costs memory at scale), not
    which rows, and many expectations judge aggregates (a mean, a column set), so it cannot
    quarantine exactly the failing rows. Use a tenantflow row-level rule to quarantine.
    """

    row_level: ClassVar[bool] = False

    gx: str = Field(description="A Great Expectations expectation type, e.g. expect_column_values_to_be_unique.",
                    json_schema_extra={"enum": sorted(gx_catalogue.expectations())})
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The expectation's arguments.")
    severity: Severity = "error"

    @field_validator("severity")
    @classmethod
    def _no_quarantine(cls, value: str) -> str:
        if value == "quarantine":
            raise ValueError("a GX expectation cannot quarantine rows (GX does not say exactly which rows "
                             "failed); use 'error' or 'warn', or a tenantflow row-level rule to quarantine")
        return value

    @field_validator("gx")
    @classmethod
    def _known(cls, value: str) -> str:
        known = gx_catalogue.expectations()
        if value not in known:
            close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{value!r} is not a Great Expectations expectation ({hint}see "
                             f"https://greatexpectations.io/expectations/; GX {gx_catalogue.gx_version()})")
        return value

    @field_validator("kwargs")
    @classmethod
    def _arguments(cls, value: dict[str, Any], info: Any) -> dict[str, Any]:
        expectation = info.data.get("gx")
        if expectation is None:  # the expectation type itself was wrong: reported there
            return value
        spec = gx_catalogue.expectations()[expectation]
        allowed = [*spec["required"], *spec["optional"]]
        for key in value:
            if key in gx_catalogue.REFUSED_ARGUMENTS:
                raise KwargError(key, f"`{key}` is not offered: {gx_catalogue.REFUSED_ARGUMENTS[key]}")
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise KwargError(key, f"{expectation} has no argument `{key}` ({hint}arguments: "
                                      f"{', '.join(allowed) or 'none'})")
        missing = [k for k in spec["required"] if k not in value]
        if missing:
            raise ValueError(f"{expectation} needs {', '.join(f'`{k}`' for k in missing)} in `kwargs`")
        return value

    @property
    def columns(self) -> tuple[str, ...]:
        """The batch columns the expectation names (``column``, ``column_A``/``column_B``, ``column_list``)."""
        named = [self.kwargs.get(k) for k in ("column", "column_A", "column_B")]
        named += list(self.kwargs.get("column_list") or [])
        return tuple(c for c in named if isinstance(c, str))


def rule_or_gx(value: Any) -> str | None:
    """The union member of a ``quality:`` item: ``gx`` for a GX expectation, else its ``rule``."""
    if isinstance(value, dict):
        return "gx" if "gx" in value and "rule" not in value else value.get("rule")
    return "gx" if isinstance(value, GxExpectation) else getattr(value, "rule", None)


QualityCheck = Annotated[
    Annotated[NotNullRule, Tag("not_null")] | Annotated[UniqueRule, Tag("unique")]
    | Annotated[RangeRule, Tag("range")] | Annotated[RegexRule, Tag("regex")]
    | Annotated[AcceptedValuesRule, Tag("accepted_values")] | Annotated[ConditionRule, Tag("condition")]
    | Annotated[RowCountRule, Tag("row_count")] | Annotated[SchemaRule, Tag("schema")]
    | Annotated[FreshnessRule, Tag("freshness")] | Annotated[DuplicatesRule, Tag("duplicates")]
    | Annotated[AnomalyRule, Tag("anomaly")] | Annotated[GxExpectation, Tag("gx")],
    Discriminator(rule_or_gx),
]
"""One item of a pipeline's ``quality:`` list: a tenantflow rule (``rule:``) or a GX expectation (``gx:``)."""


def gx_columns_in_schema(checks: tuple[Any, ...]) -> tuple[Any, ...]:
    """Where the pipeline states its columns (a ``schema`` rule with ``exact: true``), every column a GX
    expectation names must be one of them: a typo is a config error, not a failed run."""
    known = {c for check in checks if getattr(check, "rule", None) == "schema" and check.exact for c in check.columns}
    if not known:
        return checks
    for index, check in enumerate(checks):
        if not isinstance(check, GxExpectation):
            continue
        for key in ("column", "column_A", "column_B", "column_list"):
            named = check.kwargs.get(key)
            for column in [named] if isinstance(named, str) else named or []:
                if isinstance(column, str) and column not in known:
                    close = difflib.get_close_matches(column, sorted(known), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise KwargError(key, f"column {column!r} is not in the pipeline's schema ({hint}the `schema` "
                                          f"rule with `exact: true` lists {', '.join(sorted(known))})",
                                     path=(index, "kwargs"))
    return checks


QualityChecks = Annotated[tuple[QualityCheck, ...], AfterValidator(gx_columns_in_schema)]
"""A pipeline's ``quality:`` list."""


class Profiling(Model):
    """Per-column profile of every batch, kept in ``<namespace>._profiles`` (history for anomaly rules)."""


    enabled: bool = True
    exclude: tuple[str, ...] = Field(default=(), description="Columns never profiled (e.g. personal data).")
    top_values_max_distinct: int = Field(
        default=20, ge=0, le=1000,
        description="Top values are kept only for columns with at most this many distinct values (0: never).",
    )
    top_values: int = Field(default=5, ge=1, le=50, description="How many top values to keep.")
