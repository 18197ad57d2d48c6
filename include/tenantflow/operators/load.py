"""Load: write the landed batch (PII-protected) into the pipeline's Iceberg table, exactly once per run id.

Right after the commit, in the same task, the load and its PII masking decisions go to the tenant's audit
trail (``tenantflow.audit``). An audit write that fails after its retries fails the task: Airflow's retry finds
the run committed (nothing loaded twice) and writes only the audit records still missing (deduped by event).
"""

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
        from tenantflow.catalog.hook import IcebergHook

        hook = IcebergHook(self.pipeline_ctx)  # one catalog for the load and its audit record
        try:
            result = load_run(self.pipeline_ctx, self.run_id(context), hook)
        except DamagedBatch as exc:  # the same files fail again: only landing the run again helps
            raise AirflowFailException(str(exc)) from exc
        self._audit(context, result, hook)
        # also an empty or already-committed run: the table is up to date with the source as of now
        emit.table_loaded(self.pipeline_ctx, rows=int(result.get("rows", 0)), bytes=result.get("bytes"),
                          at=dt.datetime.now(dt.UTC))
        return self.record_lineage(context, result)

    def _audit(self, context: Any, result: dict[str, Any], hook: Any) -> None:
        from tenantflow.audit.events import load_records, record
        from tenantflow.audit.records import run_actor

        ctx, run_id = self.pipeline_ctx, self.run_id(context)
        records = load_records(ctx, result, run_id=run_id, actor=run_actor(context), table=hook.table())
        written = record(ctx, records)
        self.log.info("audit: %d record(s) written (%d already recorded)", written, len(records) - written)
