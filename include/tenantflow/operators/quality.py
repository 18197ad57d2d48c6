"""Quality: validate the landed batch; error-severity failures stop the run before anything loads."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.hooks.landing import LandingHook
from tenantflow.operators.base import PipelineStageOperator


class QualityGateFailed(AirflowFailException):
    """Error-severity quality rules failed: the batch is not loaded (retrying cannot help)."""


class QualityCheckOperator(PipelineStageOperator):
    ui_color = "#fdebd0"

    def execute(self, context: Any) -> dict[str, Any]:
        from tenantflow.quality.runner import run_quality

        ctx = self.pipeline_ctx
        frame = LandingHook(ctx.batch(self.run_id(context))).read().to_pandas()
        report = run_quality(frame, ctx.pipeline.quality, suite_name=ctx.dag_id)
        self.log.info("%s", report.summary())
        if report.errors:
            failed = ", ".join(o.rule for o in report.errors)
            raise QualityGateFailed(f"{len(report.errors)} error-severity quality rule(s) failed: {failed}; "
                                    "nothing was loaded")
        return report.as_dict()
