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
