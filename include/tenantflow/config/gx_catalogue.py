"""The Great Expectations expectations a pipeline may list, and their arguments, without importing GX.

``gx_catalogue.json`` (next to this module) is generated from the registry of the installed GX
(``python -m tenantflow.config.gx_catalogue``); a test regenerates it and fails when it differs, so
an upgrade of GX shows up as a diff to review. Config validation only reads the JSON: importing
``great_expectations`` costs 4–10 s, and every DAG file parse validates configs.

Left out, with the reason given to the user:

* expectations that need a SQL data source (tenantflow runs GX on the batch in pandas);
* ``row_condition``/``condition_parser`` (a pandas/Spark row condition is an expression GX hands to
  ``DataFrame.query``: tenant YAML must not run code) and GX bookkeeping fields (id, meta, notes,
  result format, severity: tenantflow sets those).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).with_name("gx_catalogue.json")
SQL_ONLY = {
    "expect_query_results_to_match_comparison": "compares two SQL queries",
    "expect_table_row_count_to_equal_other_table": "reads another SQL table",
    "unexpected_rows_expectation": "runs a SQL query",
}
REFUSED_ARGUMENTS = {
    "row_condition": "a row condition is an expression GX evaluates with pandas; filter with a tenantflow "
                     "`condition` rule or a transform instead",
    "condition_parser": "row conditions are not offered",
}
_BOOKKEEPING = {"id", "meta", "notes", "result_format", "description", "catch_exceptions", "rendered_content",
                "severity", "windows", "batch_id", "library_metadata"}


@functools.cache
def _load() -> dict[str, Any]:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def expectations() -> dict[str, dict[str, list[str]]]:
    """expectation type -> {"required": [...], "optional": [...]} argument names."""
    return _load()["expectations"]


def gx_version() -> str:
    return str(_load()["great_expectations"])


def generate() -> dict[str, Any]:
    """The catalogue of the installed GX (imports great_expectations: for the generator and its test only)."""
    import great_expectations
    from great_expectations.expectations.registry import _registered_expectations as registry

    out: dict[str, dict[str, list[str]]] = {}
    for name in sorted(registry):
        if name in SQL_ONLY:
            continue
        fields = {k: f for k, f in registry[name].__fields__.items()
                  if k not in _BOOKKEEPING and k not in REFUSED_ARGUMENTS}
        out[name] = {"required": [k for k, f in fields.items() if f.required],
                     "optional": [k for k, f in fields.items() if not f.required]}
    return {"great_expectations": great_expectations.__version__, "left_out": SQL_ONLY, "expectations": out}


def render(catalogue: dict[str, Any]) -> str:
    return json.dumps(catalogue, indent=1, sort_keys=True) + "\n"


def main() -> int:
    CATALOGUE.write_text(render(generate()), encoding="utf-8")
    sys.stderr.write(f"wrote {CATALOGUE} ({len(expectations())} expectations)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
