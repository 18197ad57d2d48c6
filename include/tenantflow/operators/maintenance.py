"""Maintenance of a tenant's tables, run by the platform's maintenance DAG (never by a tenant's code).

One task per pipeline maintains its Iceberg table and its quarantine table (snapshot expiry,
compaction of small files, orphan removal, all keeping the load state) and applies the pipeline's
retention: quarantine rows and landing batches older than their platform-bounded age are deleted.
One more task maintains the tenant's quality tables. What each task did goes to the tenant's audit trail
(actor ``platform:maintenance``) in the same task; a failed audit write fails it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tenantflow.catalog.hook import IcebergHook
from tenantflow.metrics import emit
from tenantflow.metrics.freshness import last_load_time
from tenantflow.operators.base import PipelineStageOperator


class TableMaintenanceOperator(PipelineStageOperator):
    """Maintain the pipeline's table and quarantine table, and apply its retention."""

    ui_color = "#fdebd0"
    acts_for_tenant = False  # the platform maintains the tables, with its own identity

    def execute(self, context: Any) -> dict[str, Any]:
        result = self._maintain(context)
        _audit(self.pipeline_ctx, context, result)  # also when maintenance is disabled: retention ran
        return result

    def _maintain(self, context: Any) -> dict[str, Any]:
        from tenantflow.config.effective import effective_maintenance
        from tenantflow.landing.retention import expire_batches
        from tenantflow.maintenance import TablePolicy, maintain_table
        from tenantflow.quality.store import quarantine_identifier

        ctx = self.pipeline_ctx
        config = effective_maintenance(ctx.platform, ctx.tenant, ctx.pipeline)
        retention = ctx.retention
        hook = IcebergHook(ctx)
        result: dict[str, Any] = {"pipeline": ctx.pipeline.id}
        table = hook.table()
        if table is not None:  # freshness before maintenance commits anything (which never counts as a load)
            emit.table_freshness(ctx, last_load=last_load_time(table), now=dt.datetime.now(dt.UTC))
        # retention first, so the expiry and orphan steps below also free what it deleted
        quarantine = hook.tenant_table(quarantine_identifier(ctx.namespace, ctx.pipeline.target.table))
        if quarantine is not None and retention.quarantine is not None:
            result["quarantine_rows_expired"] = _expire_quarantine(quarantine, retention.quarantine)
        result["landing_folders_expired"] = len(expire_batches(
            ctx.batch(self.run_id(context)), raw_batches=retention.raw_batches, rejects=retention.rejects))
        if not config.enabled:
            self.log.info("maintenance is disabled for %s (maintenance.enabled: false)", ctx.dag_id)
            return {**result, "skipped": True}
        policy = TablePolicy.from_config(config)
        result["tables"] = [maintain_table(table, policy) for table in (hook.table(), quarantine) if table is not None]
        return result


class QualityTablesMaintenanceOperator(PipelineStageOperator):
    """Maintain the tenant's ``_quality_results`` and ``_profiles`` tables with the tenant-level policy."""

    ui_color = "#fdebd0"
    acts_for_tenant = False  # the platform maintains the tables, with its own identity

    def execute(self, context: Any) -> dict[str, Any]:
        from tenantflow.config.effective import effective_maintenance
        from tenantflow.maintenance import TablePolicy, maintain_table
        from tenantflow.quality.store import PROFILES_TABLE, RESULTS_TABLE

        ctx = self.pipeline_ctx
        config = effective_maintenance(ctx.platform, ctx.tenant)
        if not config.enabled:
            return {"skipped": True}
        hook, policy = IcebergHook(ctx), TablePolicy.from_config(config)
        tables = [hook.tenant_table(f"{ctx.namespace}.{name}") for name in (RESULTS_TABLE, PROFILES_TABLE)]
        result = {"tables": [maintain_table(table, policy) for table in tables if table is not None]}
        _audit(ctx, context, result)
        return result


def _audit(ctx: Any, context: Any, result: dict[str, Any]) -> None:
    """In the same task, right after the commits: a failed audit write fails the task (retried; deduped)."""
    from tenantflow.audit.events import maintenance_records, record

    record(ctx, maintenance_records(ctx, result, run_id=str(context["run_id"])))


def _expire_quarantine(table: Any, max_age: Any) -> int:
    from tenantflow.loading.state import carried_properties
    from tenantflow.quality.quarantine import expire_quarantine

    return expire_quarantine(table, max_age, snapshot_properties=carried_properties(table))
