"""Load: write the landed batch (PII-protected) into the pipeline's Iceberg table, exactly once per run id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.landing.integrity import DamagedBatch
from tenantflow.loading.run_load import load_run
from tenantflow.metrics import emit
from tenantflow.operators.base import PipelineStageOperator


class IcebergLoadOperator(PipelineStageOperator):
    ui_color = "#e8daef"
    lineage_stage = "load"

    def execute(self, context: Any) -> dict[str, Any]:
        try:
            result = load_run(self.pipeline_ctx, self.run_id(context))
        except DamagedBatch as exc:  # the same files fail again: only landing the run again helps
            raise AirflowFailException(str(exc)) from exc
        # also an empty or already-committed run: the table is up to date with the source as of now
        emit.table_loaded(self.pipeline_ctx, rows=int(result.get("rows", 0)), bytes=result.get("bytes"),
                          at=dt.datetime.now(dt.UTC))
        return self.record_lineage(context, result)
