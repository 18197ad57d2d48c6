"""Consume: drain a stream source (queue, CDC) in micro-batches, each committed with its stream position.

Every micro-batch the run committed goes to the tenant's audit trail, read back from the table's snapshots
(also when the consume failed after some commits: the records are written before the error is raised, and
a retry records whatever is still missing; deduped by micro-batch run id and snapshot)."""

from __future__ import annotations

from typing import Any

from tenantflow.operators.base import PipelineStageOperator


class StreamConsumeOperator(PipelineStageOperator):
    ui_color = "#fdebd0"
    lineage_stage = "consume"

    def execute(self, context: Any) -> dict[str, Any]:
        from tenantflow.streams.consume import consume
        from tenantflow.streams.registry import stream_reader

        source = self.pipeline_ctx.pipeline.source
        try:
            result = consume(self.pipeline_ctx, self.run_id(context), stream_reader(self.pipeline_ctx),
                             source.batch, source.per_run)
        finally:
            self._audit(context)
        return self.record_lineage(context, result.as_dict())

    def _audit(self, context: Any) -> None:
        from tenantflow.audit.events import record, stream_load_records
        from tenantflow.audit.records import run_actor
        from tenantflow.catalog.hook import IcebergHook

        ctx = self.pipeline_ctx
        records = stream_load_records(ctx, IcebergHook(ctx).table(), run_id=self.run_id(context),
                                      actor=run_actor(context))
        self.log.info("audit: %d micro-batch load(s) written", record(ctx, records))
