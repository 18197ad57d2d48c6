"""The quality trend of a tenant's pipelines, read from ``<namespace>._quality_results`` (for the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADER = ("PIPELINE", "RUN", "TIME", "ROWS", "SCORE", "QUARANTINED", "FAILED RULES")


def last_runs(runs: Sequence[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """The newest ``last`` runs, oldest first."""
    ordered = sorted(runs, key=lambda r: r["checked_at"])
    return ordered[-last:] if last > 0 else ordered


def table_lines(runs: Sequence[dict[str, Any]]) -> list[str]:
    rows = [HEADER] + [(r["pipeline"], r["run_id"], r["checked_at"][:19].replace("T", " "), str(r["rows"]),
                        f"{r['score']:.2f}", str(r["quarantined_rows"]), ", ".join(r["failed_rules"]) or "-")
                       for r in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
