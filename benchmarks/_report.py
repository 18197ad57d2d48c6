"""A benchmark's result: one JSON line on stdout, also kept in bench-results/<name>.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(name: str, result: dict[str, Any]) -> None:
    line = json.dumps(result)
    print(line)  # noqa: T201 - the benchmark's output
    Path("bench-results").mkdir(exist_ok=True)
    Path(f"bench-results/{name}.json").write_text(line + "\n")
