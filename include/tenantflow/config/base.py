"""The base of every config model (frozen, no unknown fields) and the small types several sections share."""

from __future__ import annotations

import functools
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


# Validation context of configs read back from the parse cache: checks that need a heavy library (a GraphQL
# query's parse) ran when the cache was written and are skipped, so a steady-state DAG parse stays light.
FROM_PARSE_CACHE = "from_parse_cache"


# Declared column types of sources (files, queues): values that do not convert are bad rows.
COLUMN_TYPE_PATTERN = (
    r"^(string|int32|int64|float32|float64|boolean|date|timestamp|timestamptz|decimal\(\d{1,2},\s*\d{1,2}\))$"
)


class Classification(StrEnum):
    public = "public"
    internal = "internal"
    restricted = "restricted"
    highly_restricted = "highly_restricted"


@functools.lru_cache(maxsize=1024)
def _valid_cron(expression: str) -> bool:
    from croniter import croniter

    return bool(croniter.is_valid(expression))


CRON_PRESETS = frozenset({"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"})


def check_cron(value: str) -> str:
    """A 5-field cron expression or a preset; raises ValueError saying what would be right."""
    if value.startswith("@"):
        if value not in CRON_PRESETS:
            raise ValueError(f"unknown cron preset {value!r}; use one of {', '.join(sorted(CRON_PRESETS))}")
        return value
    if len(value.split()) != 5:
        raise ValueError(f"cron {value!r} must have 5 fields (minute hour day month weekday)")
    if not _valid_cron(value):
        raise ValueError(f"cron {value!r} is not a valid expression (e.g. '0 2 * * *' = daily at 02:00)")
    return value


def check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}; use an IANA name like 'Europe/Berlin'") from None
    return value


class Schedule(Model):
    cron: str = Field(min_length=1)
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron_fields(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)
