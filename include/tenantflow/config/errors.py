"""Configuration errors a tenant's data engineer can act on: file, line, column, field, fix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def display_path(path: Path) -> str:
    """Show paths relative to the working directory when possible, as editors and CI annotate them."""
    try:
        return os.path.relpath(path)
    except ValueError:  # different drive
        return str(path)


@dataclass(frozen=True, order=True)
class ConfigError:
    file: Path
    line: int
    column: int
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{display_path(self.file)}:{self.line}:{self.column}"
        field = f" {self.field}:" if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}:{field} {self.message}{hint}"


class ConfigErrors(Exception):
    """All errors found in one or more config files, never just the first."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = sorted(set(errors))
        count = len(self.errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(f"{count} configuration error{'s' if count != 1 else ''}:\n{lines}")
