"""Consume: drain a stream source (queue, CDC) in micro-batches, each committed with its stream position."""

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
        result = consume(self.pipeline_ctx, self.run_id(context), stream_reader(self.pipeline_ctx),
                         source.batch, source.per_run)
        return self.record_lineage(context, result.as_dict())
