"""Load: write the landed batch (PII-protected) into the pipeline's Iceberg table, exactly once per run id."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.landing.integrity import DamagedBatch
from tenantflow.loading.run_load import load_run
from tenantflow.operators.base import PipelineStageOperator


class IcebergLoadOperator(PipelineStageOperator):
    ui_color = "#e8daef"

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            return load_run(self.pipeline_ctx, self.run_id(context))
        except DamagedBatch as exc:  # the same files fail again: only landing the run again helps
            raise AirflowFailException(str(exc)) from exc
