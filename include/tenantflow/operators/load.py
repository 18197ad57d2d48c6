"""Load: write the landed batch (PII-protected) into the pipeline's Iceberg table, exactly once per run id."""

from __future__ import annotations

from typing import Any

from tenantflow.loading.run_load import load_run
from tenantflow.operators.base import PipelineStageOperator


class IcebergLoadOperator(PipelineStageOperator):
    ui_color = "#e8daef"

    def execute(self, context: Any) -> dict[str, Any]:
        return load_run(self.pipeline_ctx, self.run_id(context))
