"""Register: record ownership and classification on the table and emit the table's Asset."""

from __future__ import annotations

from typing import Any

from tenantflow.catalog.hook import IcebergHook
from tenantflow.operators.base import PipelineStageOperator


def table_properties(ctx: Any) -> dict[str, str]:
    source = ctx.pipeline.source
    source_ref = getattr(source, "connection_id", None) or getattr(source, "path", "")
    return {
        "tenantflow.tenant": ctx.tenant_id,
        "tenantflow.pipeline": ctx.pipeline.id,
        "tenantflow.owner": ctx.owner,
        "tenantflow.classification": str(ctx.classification),
        "tenantflow.source": f"{source.kind}:{source_ref}",
        "tenantflow.dag-id": ctx.dag_id,
    }


class RegisterTableOperator(PipelineStageOperator):
    ui_color = "#fcf3cf"
    lineage_stage = "register"

    def execute(self, context: Any) -> dict[str, Any]:
        ctx = self.pipeline_ctx
        hook = IcebergHook(ctx)
        table = hook.table()
        if table is None:
            self.log.warning("table %s does not exist (nothing loaded yet): nothing to register",
                             ctx.table_identifier)
            return self.record_lineage(context, {"table": ctx.table_identifier, "registered": False})
        from tenantflow.catalog.registration import apply_column_comments, documented_properties

        properties = {**documented_properties(ctx.pipeline.target), **table_properties(ctx)}
        current = table.properties.get("tenantflow.classification")
        if current:  # the load may have raised it (a restricted PII column); never lower it here
            from tenantflow.pii.classification import highest

            properties["tenantflow.classification"] = str(highest([current, properties["tenantflow.classification"]]))
        changed = hook.set_properties(properties)
        columns = apply_column_comments(hook.table(), ctx.pipeline.target)  # reloaded: properties just changed
        self.log.info("registered %s (%d propert%s, %d column comment(s) changed)", ctx.table_identifier,
                      len(changed), "y" if len(changed) == 1 else "ies", len(columns))
        return self.record_lineage(context, {"table": ctx.table_identifier, "registered": True,
                                             "asset": ctx.asset_uri})
