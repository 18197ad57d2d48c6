"""Load: write the landed batch into the pipeline's Iceberg table, exactly once per run id."""

from __future__ import annotations

from typing import Any

from tenantflow.hooks.iceberg import IcebergHook
from tenantflow.hooks.landing import LandingHook
from tenantflow.operators.base import PipelineStageOperator


class IcebergLoadOperator(PipelineStageOperator):
    ui_color = "#e8daef"

    def execute(self, context: Any) -> dict[str, Any]:
        ctx = self.pipeline_ctx
        raw = LandingHook(ctx.batch(self.run_id(context)))
        landing = raw.load_input()
        if landing is not raw:
            self.log.info("loading the %r batch of this run", landing.location.stage)
        manifest = landing.manifest()
        if manifest.rows == 0:
            self.log.warning("the batch is empty: nothing to load (an empty batch never overwrites a table)")
            return {"table": ctx.table_identifier, "rows": 0, "skipped": True}
        hook = IcebergHook(ctx)
        parts, schemas = landing.parts()
        state = {"run_id": manifest.run_id, "watermark": manifest.watermark, "source_files": manifest.source_files}
        result = hook.append_landed(parts, schemas, manifest.rows, **state)
        if result is None:  # merge, overwrite, partitioned or evolving tables: write the rows
            result = hook.write(landing.read(), **state)
        return result.as_dict()
