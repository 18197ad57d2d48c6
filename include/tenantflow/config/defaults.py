"""Deterministic merge of platform defaults under tenant and pipeline values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``values`` laid over ``defaults``.

    Mappings merge key by key (recursively); anything else in ``values`` (scalars, lists,
    explicit nulls) replaces the default whole. Neither input is modified.
    """
    merged: dict[str, Any] = dict(defaults)
    for key, value in values.items():
        base = merged.get(key)
        if isinstance(base, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(base, value)
        else:
            merged[key] = value
    return merged
