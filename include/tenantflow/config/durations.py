"""Durations written in config as ``30m``, ``36h``, ``7d`` or ``2w`` (quality freshness, maintenance, retention)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

DURATION_PATTERN = r"^\s*(\d+)\s*([smhdw])\s*$"
_DURATION = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3600, "m": 60, "s": 1}


def is_duration(value: str) -> bool:
    """A positive duration like '30m', '6h', '2d' or '1w'."""
    match = _DURATION.match(value)
    return match is not None and int(match.group(1)) > 0


def duration_seconds(value: str) -> int:
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration like '30m', '6h', '2d' or '1w'")
    number, unit = match.groups()
    return int(number) * _UNIT_SECONDS[unit]


def parse_duration(value: str) -> timedelta:
    return timedelta(seconds=duration_seconds(value))


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling in days, hours, minutes or seconds: 7 days -> '7d', 36 hours -> '36h'."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def _to_timedelta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and is_duration(value):
        return parse_duration(value)
    raise ValueError(f"{value!r} is not a positive duration; write e.g. '36h', '7d' or '2w' (units s, m, h, d, w)")


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN,
                    "description": "A duration: a number and a unit s, m, h, d or w, e.g. '36h' or '7d'."}),
]
"""A positive duration, given as '36h' / '7d' in YAML and held as a ``timedelta``."""
