"""The large-batch path of ``run_quality``: one DuckDB scan of the landed parts (``sql_checks``).

What the scan cannot judge runs in Arrow on only what it needs: ``schema`` on the dataset's
schema, ``freshness`` on its one column, failed quarantine rules (their failing-row masks) on the
batch read once. If DuckDB cannot run the query (e.g. a regex only Python understands), the whole
batch is judged by the Arrow engine instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tenantflow.config.quality_rules import Profiling
from tenantflow.quality.arrow_checks import CheckInputs, evaluate
from tenantflow.quality.expectations import describe

log = logging.getLogger(__name__)


def run_scan(dataset: Any, rules: list[Any], inputs: CheckInputs, profiling: Profiling | None,
             *, outcome: Callable[..., Any]) -> Any:
    import duckdb

    from tenantflow.quality import sql_checks
    from tenantflow.quality.profiling import profile_from_scan, profiled_columns
    from tenantflow.quality.runner import QualityReport, run_quality

    columns = profiled_columns(dataset.schema, profiling) if profiling else []
    try:
        checks, values, to_arrow = sql_checks.scan(dataset, list(enumerate(rules)), inputs, columns)
    except duckdb.Error as exc:
        log.warning("DuckDB could not judge this batch (%s); using the Arrow engine", type(exc).__name__)
        return run_quality(dataset.to_table(), rules, "scan-fallback", now=inputs.now, history=inputs.history,
                           max_gx_rows=0, profiling=profiling)
    rows = int(values["rows"])
    engines = dict.fromkeys(checks, "duckdb")
    for index in to_arrow:
        rule = rules[index]
        needed = [c for c in sql_checks.rule_columns(rule) if c in dataset.schema.names]
        narrow = dataset.schema.empty_table() if rule.rule == "schema" else dataset.to_table(columns=needed)
        checks[index], engines[index] = evaluate(rule, narrow, inputs), "arrow"
    failed_quarantine = [i for i, c in checks.items() if rules[i].severity == "quarantine" and not c.success]
    data, masks = None, {}
    if failed_quarantine:
        data = dataset.to_table()
        for index in failed_quarantine:
            check = evaluate(rules[index], data, inputs)
            if check.failing is not None:
                masks[index] = check.failing
    outcomes = [outcome(rule, rows, bool(checks[i].success), checks[i].unexpected_count, checks[i].detail, engines[i])
                for i, rule in enumerate(rules)]
    profile = profile_from_scan(values, dataset.schema, profiling) if profiling else None
    values["connection"].close()
    log.debug("scanned %d rows for %d rule(s): %s", rows, len(rules), [describe(r) for r in rules])
    return QualityReport(rows=rows, outcomes=outcomes, quarantine_masks=masks, data=data, profile=profile)
