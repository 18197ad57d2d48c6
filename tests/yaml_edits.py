"""Editing config files in tests, and finding where a text stands (1-based line, column)."""

from __future__ import annotations

from pathlib import Path


def edit(path: Path, old: str, new: str) -> Path:
    """Replace the first ``old`` in ``path``; a missing ``old`` is a broken test, not a passing one."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def append(path: Path, text: str) -> Path:
    """Add ``text`` at the end of the config file ``path``."""
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


def position(path: Path, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of ``needle`` in ``path``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"test setup: {needle!r} not in {path}")


# The smallest valid finance pipeline (8 lines); tests append the block under test from line 9.
MINIMAL_PIPELINE = """\
description: ERP orders
source:
  kind: sql
  connection_id: finance__erp
  table: orders
target:
  table: orders
  mode: append
"""
