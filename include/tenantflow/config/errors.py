"""Configuration errors a tenant's data engineer can act on: file, line, column, field, fix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def display_path(path: Path) -> str:
    """Show a config file as its repository path, e.g. ``tenant_configs/finance/pipelines/orders.yaml``.

    The config root is the nearest folder holding ``_platform.yaml``; paths outside any config
    tree are shown relative to the working directory when below it, else absolute.
    """
    for parent in path.parents:
        if (parent / "_platform.yaml").is_file():
            return str(path.relative_to(parent.parent))
    try:
        relative = os.path.relpath(path)
    except ValueError:  # different drive
        return str(path)
    return str(path) if relative.startswith("..") else relative


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
