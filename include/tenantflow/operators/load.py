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
        state = {"run_id": manifest.run_id, "watermark": manifest.watermark, "source_files": manifest.source_files}
        protection = self._pii_decision(landing)
        if protection.plan:  # masked columns: the rows are rewritten, never the landed files added as they are
            from tenantflow.pii.masking import apply_masking

            result = hook.write(apply_masking(landing.read(), protection.plan, self._secret()), **state)
        else:
            parts, schemas = landing.parts()
            result = hook.append_landed(parts, schemas, manifest.rows, **state)
            if result is None:  # merge, overwrite, partitioned or evolving tables: write the rows
                result = hook.write(landing.read(), **state)
        hook.classify(protection.properties)
        return {**result.as_dict(), "pii": protection.summary()}

    def _pii_decision(self, landing: LandingHook) -> Any:
        """Scan a sample of the batch and plan masking; unmasked PII below `restricted` fails here."""
        from tenantflow.config.privacy import PiiPolicy
        from tenantflow.pii.protect import protect_batch

        ctx = self.pipeline_ctx
        policy = ctx.pipeline.pii or PiiPolicy()  # detection is on for every pipeline
        decision = protect_batch(landing.sample(policy.sample_rows), policy, tenant_id=ctx.tenant_id,
                                 pipeline=ctx.dag_id, classification=ctx.classification, secret=self._secret)
        self.log.info("PII: %s", decision.summary())
        return decision

    def _secret(self) -> bytes:
        from tenantflow.pii.secrets import tenant_pii_secret

        policy = self.pipeline_ctx.pipeline.pii
        return tenant_pii_secret(self.pipeline_ctx.tenant_id, policy.secret_connection if policy else None)
