"""Run a pipeline's quality checks on a batch, profile it, and summarise the outcome.

One engine per check, whatever the batch's size:

* **DuckDB** judges every tenantflow rule (``rule:``) in one scan of the batch — a pyarrow Dataset
  of the landed Parquet parts or an in-memory Arrow table — and computes the profile (``scan``);
  ``schema`` reads the batch's Arrow schema, ``anomaly`` compares a DuckDB metric with history.
* **Great Expectations** runs the pipeline's native GX expectations (``gx:``), and only those, and
  writes the run's Data Docs (``gx_expectations``).
* **Arrow** builds the failing-row masks of failed quarantine rules, which the quarantine split
  uses (``quarantine.failing_rows``); it gives no verdict.

An empty batch (no new rows, e.g. no new files) has nothing for column checks to judge: they are
reported as skipped; row_count rules, row_count anomalies and GX row-count expectations still apply.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from tenantflow.config.quality_rules import Profiling
from tenantflow.quality.report import Check, QualityReport, outcome
from tenantflow.quality.scan import CheckInputs, Scan, batch_level, judge, open_scan

log = logging.getLogger(__name__)

SKIPPED = Check(True, detail="skipped: no rows in this batch")


def run_quality(
    data: Any,
    rules: Sequence[Any],
    suite_name: str,
    *,
    now: dt.datetime | None = None,
    history: Callable[[str], list[float]] | None = None,
    profiling: Profiling | None = None,
    docs_root: str | None = None,
    kms_key_id: str | None = None,
) -> QualityReport:
    """Validate a batch (pyarrow Dataset, Arrow table or pandas DataFrame) against ``rules``.

    ``history(metric)`` returns the metric's values of earlier runs (anomaly rules); with
    ``profiling`` the report carries the batch's column profile; with ``docs_root`` (a folder or
    s3:// prefix) the GX Data Docs of this run are written there (encrypted with ``kms_key_id`` on S3).
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    from tenantflow.quality.profiling import profile_from_scan, profiled_columns

    rules = list(rules)
    batch = data if isinstance(data, ds.Dataset | pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    inputs = CheckInputs(now=now or dt.datetime.now(dt.UTC), history=history)
    rows = batch.count_rows() if isinstance(batch, ds.Dataset) else batch.num_rows  # footers: no scan
    native = [(i, r) for i, r in enumerate(rules) if _is_gx(r)]
    ours = [(i, r) for i, r in enumerate(rules) if not _is_gx(r)]
    if rows == 0:
        checks = {i: batch_level(r, 0, 0, inputs) if applies_to_empty(r) else SKIPPED for i, r in ours}
        ours, native = [], [(i, r) for i, r in native if applies_to_empty(r)]
        checks.update({i: SKIPPED for i, r in enumerate(rules) if _is_gx(r) and not applies_to_empty(r)})
    else:
        checks = {}
    profile = None
    if ours or (profiling is not None and batch.schema.names):
        scan = open_scan(batch)
        try:
            columns = profiled_columns(batch.schema, profiling) if profiling else []
            found, values = judge(scan, ours, inputs, columns)
            checks.update(found)
            rows = int(values["rows"])
            profile = profile_from_scan(values, scan, profiling) if profiling else None
        finally:
            scan.close()
    elif profiling is not None:
        profile = profile_from_scan({"rows": rows}, Scan(None, batch.schema), profiling)  # no columns
    engines = {i: "gx" if _is_gx(rules[i]) else "duckdb" for i in checks}
    docs = None
    if native:
        from tenantflow.quality.gx_expectations import run_expectations

        run = run_expectations(batch, native, suite_name, docs_root=docs_root, kms_key_id=kms_key_id)
        checks.update(run.checks)
        engines.update(dict.fromkeys(run.checks, "gx"))
        docs = run.data_docs
    table, masks = _quarantine_masks(batch, rules, checks)
    outcomes = [outcome(rule, rows, checks[i], engines.get(i, "duckdb")) for i, rule in enumerate(rules)]
    return QualityReport(rows=rows, outcomes=outcomes, quarantine_masks=masks,
                         data=table if table is not None else (batch if isinstance(batch, pa.Table) else None),
                         profile=profile, data_docs=docs)


def _is_gx(rule: Any) -> bool:
    return getattr(rule, "gx", None) is not None


def applies_to_empty(rule: Any) -> bool:
    if _is_gx(rule):
        return rule.gx.startswith("expect_table_row_count")
    return rule.rule == "row_count" or (rule.rule == "anomaly" and rule.metric == "row_count")


def _quarantine_masks(batch: Any, rules: list[Any], checks: dict[int, Check]) -> tuple[Any, dict[int, Any]]:
    """The batch (read once) and the failing-row masks of its failed quarantine rules."""
    import pyarrow.compute as pc

    from tenantflow.quality.quarantine import failing_rows

    failed = [i for i, r in enumerate(rules) if r.severity == "quarantine" and not checks[i].success
              and checks[i].unexpected_count]
    if not failed:
        return None, {}
    table = batch.to_table() if hasattr(batch, "to_table") else batch
    masks = {i: failing_rows(rules[i], table) for i in failed}
    for i, mask in masks.items():
        flagged = int(pc.sum(mask).as_py() or 0)
        if flagged != checks[i].unexpected_count:  # a bug: the rows set aside must be the rows counted
            log.error("quarantine rule %d: the Arrow mask flags %d row(s), DuckDB counted %d", i, flagged,
                      checks[i].unexpected_count)
    return table, masks
