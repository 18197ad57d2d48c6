"""Safe YAML reading, and mapping a field path back to a line and column.

Files are read with libyaml's safe loader (no tags, no class paths, no environment
interpolation). Positions are only computed when there is an error to report, so the
hot path at DAG-parse time is a single C-speed load per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """libyaml's safe loader that rejects duplicate keys (YAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first defined on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    text: str
    data: Any


class YamlSyntaxError(Exception):
    def __init__(self, path: Path, line: int, column: int, problem: str):
        self.path, self.line, self.column, self.problem = path, line, column, problem
        super().__init__(f"{path}:{line}:{column}: {problem}")


def read_yaml(path: Path) -> YamlDocument:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - CSafeLoader/SafeLoader only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSyntaxError(path, line, column, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(path, 1, 1, f"invalid YAML: {exc}") from None
    return YamlDocument(path=path, text=text, data=data)


def locate(text: str, loc: Sequence[str | int]) -> tuple[int, int, bool]:
    """Return (line, column, found) of the deepest node along ``loc``.

    ``found`` is False when the path leaves the document (e.g. a missing field, or a
    value that came from platform defaults): the position is then the nearest parent.
    """
    try:
        node = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError:
        return 1, 1, False
    if node is None:
        return 1, 1, False
    mark = node.start_mark
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(step)), None)
            if match is None:
                return mark.line + 1, mark.column + 1, False
            key, node = match
            mark = key.start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            mark = node.start_mark
        else:
            return mark.line + 1, mark.column + 1, False
    return mark.line + 1, mark.column + 1, True
