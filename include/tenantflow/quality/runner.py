"""Run a pipeline's quality rules on a batch, profile it, and summarise the outcome.

Three engines, one outcome shape (tests hold them to the same verdicts and counts):

* **Great Expectations** validates the rules that compile to an expectation (``expectations``)
  when the batch has at most ``TENANTFLOW_QUALITY_GX_MAX_ROWS`` rows (default 200,000); its
  verdict and unexpected count are then the rule's outcome (``engine="gx"``).
* **Arrow** (``arrow_checks``) evaluates every rule on an in-memory batch: per-row failure masks
  (the rows a quarantine rule sets aside) and batch-level verdicts; it judges the rules GX has no
  expectation for, and whole batches passed in as a table above the GX limit.
* **DuckDB** (``sql_checks``) judges a landed batch (a pyarrow Dataset) above the GX limit in one
  scan of its Parquet parts, without materialising it; only failed quarantine rules read the rows.

Results carry counts, percentages and aggregate observations only — never row values — so they
are safe to log and to push to XCom even when a batch holds personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tenantflow.config.quality_rules import Profiling
from tenantflow.quality.arrow_checks import Check, CheckInputs, evaluate
from tenantflow.quality.expectations import compile_rule, describe
from tenantflow.quality.score import quality_score

log = logging.getLogger(__name__)

GX_MAX_ROWS_ENV = "TENANTFLOW_QUALITY_GX_MAX_ROWS"
DEFAULT_GX_MAX_ROWS = 200_000
# rules GX only partly checks: the Arrow verdict must hold too (schema: GX checks the column set)
ARROW_REFINES = {"schema"}


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    severity: str
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    detail: str = ""
    row_level: bool = False
    engine: str = "arrow"


@dataclass(frozen=True)
class QualityReport:
    rows: int
    outcomes: list[RuleOutcome]
    # rule index -> failing-row mask (pa.BooleanArray) of failed quarantine rules, over ``data``
    quarantine_masks: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)
    data: Any = field(default=None, repr=False, compare=False)  # the batch as read, when it was read
    profile: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    @property
    def quarantines(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "quarantine"]

    @property
    def score(self) -> float:
        return quality_score(self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "score": self.score,
            "passed": sum(o.success for o in self.outcomes),
            "failed_error": len(self.errors),
            "failed_warn": len(self.warnings),
            "failed_quarantine": len(self.quarantines),
            "rules": [asdict(o) for o in self.outcomes],
        }

    def summary(self) -> str:
        lines = [f"quality: {self.rows} rows, {len(self.outcomes)} rules, score {self.score:.2f}, "
                 f"{len(self.errors)} error failure(s), {len(self.warnings)} warning(s), "
                 f"{len(self.quarantines)} quarantine rule(s) failed"]
        labels = {"error": "FAIL", "warn": "WARN", "quarantine": "QUARANTINE"}
        for o in self.outcomes:
            status = "PASS" if o.success else labels[o.severity]
            percent = "" if o.unexpected_percent is None else f" ({o.unexpected_percent:.2f}%)"
            counts = "" if o.unexpected_count is None else f" — {o.unexpected_count} unexpected{percent}"
            detail = f" — {o.detail}" if o.detail else ""
            lines.append(f"  [{status}] {o.rule} severity={o.severity} engine={o.engine}{counts}{detail}")
        return "\n".join(lines)


def gx_max_rows() -> int:
    return int(os.environ.get(GX_MAX_ROWS_ENV, DEFAULT_GX_MAX_ROWS))


def run_quality(
    data: Any,
    rules: Sequence[Any],
    suite_name: str,
    *,
    now: dt.datetime | None = None,
    history: Callable[[str], list[float]] | None = None,
    max_gx_rows: int | None = None,
    profiling: Profiling | None = None,
) -> QualityReport:
    """Validate a batch (pyarrow Dataset, Arrow table or pandas DataFrame) against ``rules``.

    ``history(metric)`` returns the metric's values of earlier runs (anomaly rules); with
    ``profiling`` the report carries the batch's column profile. An empty batch (no new rows, e.g.
    no new files) has nothing for column rules to check: they are reported as skipped; row_count
    and row_count anomalies still apply.
    """
    import pyarrow.dataset as ds

    inputs = CheckInputs(now=now or dt.datetime.now(dt.UTC), history=history)
    limit = gx_max_rows() if max_gx_rows is None else max_gx_rows
    if isinstance(data, ds.Dataset):
        if data.count_rows() > limit:  # row counts come from the Parquet footers
            from tenantflow.quality.scan_runner import run_scan

            return run_scan(data, list(rules), inputs, profiling, outcome=_outcome)
        data = data.to_table()
    table = _arrow(data)
    profile = None
    if profiling is not None:
        from tenantflow.quality.profiling import profile_batch

        profile = profile_batch(table, profiling)
    if table.num_rows == 0:
        applies = [(i, r) for i, r in enumerate(rules) if applies_to_empty(r)]
        skipped = {i: RuleOutcome(describe(r), r.severity, True, None, None, "skipped: no rows in this batch",
                                  r.row_level) for i, r in enumerate(rules) if not applies_to_empty(r)}
        checked = _outcomes(table, applies, inputs, use_gx=True, suite_name=suite_name)
        merged = {**skipped, **{i: o for i, (o, _) in checked.items()}}
        return QualityReport(rows=0, outcomes=[merged[i] for i in sorted(merged)], data=table, profile=profile)
    checked = _outcomes(table, list(enumerate(rules)), inputs, use_gx=table.num_rows <= limit,
                        suite_name=suite_name)
    masks = {i: check.failing for i, (outcome, check) in checked.items()
             if rules[i].severity == "quarantine" and not outcome.success and check.failing is not None}
    return QualityReport(rows=table.num_rows, outcomes=[checked[i][0] for i in sorted(checked)],
                         quarantine_masks=masks, data=table, profile=profile)


def _arrow(data: Any) -> Any:
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def applies_to_empty(rule: Any) -> bool:
    return rule.rule == "row_count" or (rule.rule == "anomaly" and rule.metric == "row_count")


def _outcomes(
    table: Any, rules: list[tuple[int, Any]], inputs: CheckInputs, *, use_gx: bool, suite_name: str
) -> dict[int, tuple[RuleOutcome, Check]]:
    rows = table.num_rows
    gx_results = _validate_gx(table, rules, inputs.now, suite_name) if use_gx and rules else {}
    out: dict[int, tuple[RuleOutcome, Check]] = {}
    for index, rule in rules:
        check = evaluate(rule, table, inputs)
        engine, success, count = "arrow", check.success, check.unexpected_count
        gx = gx_results.get(index)
        if gx is not None and not gx["exception"]:
            engine, success = "gx", gx["success"]
            count = gx["unexpected_count"] if gx["unexpected_count"] is not None else count
            if rule.rule in ARROW_REFINES:
                engine, success = "gx+arrow", success and check.success
            elif success != check.success:
                log.warning("%s: GX and Arrow disagree (gx=%s, arrow=%s); GX's verdict stands",
                            describe(rule), success, check.success)
        detail = check.detail or (gx or {}).get("observed", "")
        out[index] = (_outcome(rule, rows, bool(success), count, detail, engine), check)
    return out


def _outcome(rule: Any, rows: int, success: bool, count: int | None, detail: str, engine: str) -> RuleOutcome:
    """A rule's outcome; a row-level rule's unexpected percent is its share of the batch's rows."""
    percent = None if count is None or not rule.row_level else (100.0 * count / rows if rows else 0.0)
    return RuleOutcome(describe(rule), rule.severity, success, count, percent, detail, rule.row_level, engine)


def _validate_gx(table: Any, rules: list[tuple[int, Any]], now: dt.datetime, suite_name: str) -> dict[int, dict]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX progress bars would flood task logs
    expectations = [(i, e) for i, r in rules if (e := compile_rule(r, i, now)) is not None]
    if not expectations:
        return {}
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas(name="tenantflow")
        .add_dataframe_asset(name="landed_batch")
        .add_batch_definition_whole_dataframe(name="whole_batch")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for _, expectation in expectations:
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}-run", data=batch_definition, suite=suite)
    )
    frame = table.to_pandas()
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    out: dict[int, dict] = {}
    for item in result.results:
        details = item.result or {}
        info = item.exception_info or {}
        raised = bool(info.get("raised_exception")) or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values())
        observed = details.get("observed_value")
        out[int(item.expectation_config.meta["rule_index"])] = {
            "success": bool(item.success), "unexpected_count": details.get("unexpected_count"),
            "exception": raised,
            "observed": f"observed {observed}" if isinstance(observed, int | float) else "",
        }
    return out
