"""Transform (engine 'local'): the pipeline's Spark SQL run by DuckDB; the load stage writes the result."""

from __future__ import annotations

from typing import Any

from tenantflow.catalog.hook import IcebergHook
from tenantflow.operators.base import PipelineStageOperator


class LocalTransformOperator(PipelineStageOperator):
    ui_color = "#d1f2eb"
    lineage_stage = "transform"

    def execute(self, context: Any) -> dict[str, Any]:
        from tenantflow.processing.transform_step import run_local_transform

        ctx = self.pipeline_ctx
        manifest = run_local_transform(ctx, self.run_id(context), IcebergHook(ctx).catalog)
        result = {"rows": manifest.rows, "files": len(manifest.files), "source": manifest.source}
        return self.record_lineage(context, result, schema=manifest.schema)
