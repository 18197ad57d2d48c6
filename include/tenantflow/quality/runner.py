"""Run a pipeline's quality rules on a batch with Great Expectations and summarise the outcome.

Results carry counts and percentages only — never row values — so they are safe to log
and to push to XCom even when a batch holds personal data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tenantflow.quality.expectations import compile_rule, describe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    severity: str
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    detail: str = ""


@dataclass(frozen=True)
class QualityReport:
    rows: int
    outcomes: list[RuleOutcome]

    @property
    def errors(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "error"]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warn"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "passed": sum(o.success for o in self.outcomes),
            "failed_error": len(self.errors),
            "failed_warn": len(self.warnings),
            "rules": [asdict(o) for o in self.outcomes],
        }

    def summary(self) -> str:
        lines = [f"quality: {self.rows} rows, {len(self.outcomes)} rules, "
                 f"{len(self.errors)} error failure(s), {len(self.warnings)} warning(s)"]
        for o in self.outcomes:
            status = "PASS" if o.success else ("FAIL" if o.severity == "error" else "WARN")
            counts = "" if o.unexpected_count is None else (
                f" — {o.unexpected_count} unexpected ({(o.unexpected_percent or 0):.2f}%)")
            detail = f" — {o.detail}" if o.detail else ""
            lines.append(f"  [{status}] {o.rule} severity={o.severity}{counts}{detail}")
        return "\n".join(lines)


def run_quality(frame: Any, rules: Sequence[Any], suite_name: str) -> QualityReport:
    """Validate a pandas DataFrame against ``rules``.

    An empty batch (no new rows, e.g. no new files) has nothing for column rules to check:
    they are reported as skipped; table rules such as row_count still apply.
    """
    if not rules:
        return QualityReport(rows=len(frame), outcomes=[])
    if len(frame) == 0:
        table_rules = [r for r in rules if getattr(r, "column", None) is None]
        skipped = [RuleOutcome(describe(r), r.severity, True, None, None, "skipped: no rows in this batch")
                   for r in rules if getattr(r, "column", None) is not None]
        checked = _validate(frame, table_rules, suite_name) if table_rules else []
        return QualityReport(rows=0, outcomes=checked + skipped)
    return QualityReport(rows=len(frame), outcomes=_validate(frame, rules, suite_name))


def _validate(frame: Any, rules: Sequence[Any], suite_name: str) -> list[RuleOutcome]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX progress bars would flood task logs
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas(name="tenantflow")
        .add_dataframe_asset(name="landed_batch")
        .add_batch_definition_whole_dataframe(name="whole_batch")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for index, rule in enumerate(rules):
        suite.add_expectation(compile_rule(rule, index))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}-run", data=batch_definition, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    outcomes: dict[int, RuleOutcome] = {}
    for item in result.results:
        index = int(item.expectation_config.meta["rule_index"])
        rule = rules[index]
        details = item.result or {}
        exception = (item.exception_info or {}).get("exception_message") if item.exception_info else None
        if isinstance(item.exception_info, dict) and not exception:
            exception = next((v.get("exception_message") for v in item.exception_info.values()
                              if isinstance(v, dict) and v.get("raised_exception")), None)
        outcomes[index] = RuleOutcome(
            rule=describe(rule),
            severity=rule.severity,
            success=bool(item.success),
            unexpected_count=details.get("unexpected_count"),
            unexpected_percent=details.get("unexpected_percent"),
            detail=_observed(details, exception),
        )
    return [outcomes[i] for i in sorted(outcomes)]


def _observed(details: dict[str, Any], exception: str | None) -> str:
    if exception:
        return f"could not evaluate: {exception.splitlines()[0][:200]}"
    observed = details.get("observed_value")
    return f"observed {observed}" if isinstance(observed, int | float) else ""
