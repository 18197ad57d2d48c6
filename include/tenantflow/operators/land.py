"""Land: publish the staged parts as the run's raw batch, with a manifest written last."""

from __future__ import annotations

from typing import Any

from tenantflow.landing.store import LandingHook
from tenantflow.metrics import emit
from tenantflow.operators.base import PipelineStageOperator


class LandOperator(PipelineStageOperator):
    ui_color = "#d5f5e3"
    lineage_stage = "land"

    def __init__(self, *, extract_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extract_task_id = extract_task_id

    def execute(self, context: Any) -> dict[str, Any]:
        extracted = context["ti"].xcom_pull(task_ids=self.extract_task_id) or {}
        hook = LandingHook(self.pipeline_ctx.batch(self.run_id(context)))
        manifest = hook.publish(
            files=list(extracted.get("files", [])),
            source=str(extracted.get("source", "")),
            watermark=extracted.get("watermark"),
            source_files=list(extracted.get("source_files", [])),
            rejected_rows=int(extracted.get("rejected_rows", 0)),
            incremental=bool(extracted.get("incremental", False)),
            planned_watermark=extracted.get("planned_watermark"),
        )
        emit.stage_volume(self.pipeline_ctx, "land", rows=manifest.rows, bytes=emit.part_bytes(manifest.parts))
        result = {"rows": manifest.rows, "files": len(manifest.files), "location": hook.location.final}
        retention = self.pipeline_ctx.retention
        if retention.raw_batches is not None or retention.rejects is not None:
            from tenantflow.landing.retention import expire_batches

            expired = expire_batches(hook.location, raw_batches=retention.raw_batches, rejects=retention.rejects)
            result["expired_batches"] = len(expired)
        return self.record_lineage(context, result, schema=manifest.schema, bytes=emit.part_bytes(manifest.parts))
