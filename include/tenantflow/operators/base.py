"""Common base of the stage operators: they carry the pipeline's context, derived from config."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from tenantflow.pipeline_context import PipelineContext


class PipelineStageOperator(BaseOperator):
    ui_color = "#e8f1fb"
    # a tenant's stage reaches the cloud with the tenant's own identity (<tenant>__aws); the platform's
    # maintenance stages set this False and use the platform's
    acts_for_tenant = True
    # the stage's OpenLineage builder (tenantflow.lineage.stages.BUILDERS); None: the task emits no datasets
    lineage_stage: str | None = None
    _lineage_record: dict[str, Any] | None = None

    def __init__(self, *, pipeline_ctx: PipelineContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline_ctx = pipeline_ctx

    @staticmethod
    def run_id(context: Any) -> str:
        return str(context["run_id"])

    def pre_execute(self, context: Any) -> None:
        """Act with the tenant's cloud identity; refuse a run started by an asset event not the tenant's own."""
        from airflow.sdk.exceptions import AirflowFailException

        from tenantflow import identity
        from tenantflow.isolation.asset_events import require_own_asset_events
        from tenantflow.isolation.guards import TenantIsolationError

        identity.act_for(self.pipeline_ctx.tenant_id if self.acts_for_tenant else None)

        try:
            require_own_asset_events(self.pipeline_ctx, context)
        except TenantIsolationError as exc:
            raise AirflowFailException(str(exc)) from exc

    def record_lineage(self, context: Any, result: dict[str, Any], **known: Any) -> dict[str, Any]:
        """Keep what the completion event needs (nothing while OpenLineage is off); returns ``result``.

        The provider's listener runs in this task process (or a fork of it), so the record is read from here.
        """
        from tenantflow import lineage

        if self.lineage_stage is not None and lineage.enabled():
            from tenantflow.lineage.stages import record_run

            try:
                self._lineage_record = record_run(self.lineage_stage, self.pipeline_ctx, self.run_id(context),
                                                  result, known)
            except Exception as exc:  # lineage never fails a stage: the events then name the datasets only
                self.log.warning("lineage: could not record what this run read and wrote: %s", exc)
        return result

    # OpenLineage provider: the methods its DefaultExtractor calls (tenantflow.lineage builds the datasets)
    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(self._lineage_record)

    def _lineage(self, record: dict[str, Any] | None) -> Any:
        if self.lineage_stage is None:
            return None
        from tenantflow.lineage.stages import stage_lineage

        return stage_lineage(self.lineage_stage, self.pipeline_ctx, record)
