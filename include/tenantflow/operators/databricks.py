"""Engine 'databricks': one run of the shipped job on the tenant's workspace (deferrable, idempotent).

The job (``tenantflow.processing.databricks_job``) reads the run's landed batch (quality-approved
rows when published), applies the transform and writes the table with the same write modes as the
local engine. A retry of the Airflow task reattaches to the run it submitted before (same
idempotency token) unless that run ended in failure, in which case the next token generation
submits a fresh run. Killing the task cancels the run (operator ``on_kill`` while submitting, the
trigger's ``on_kill`` while deferred).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator

from tenantflow.isolation.guards import require_own_connection
from tenantflow.pipeline_context import PipelineContext
from tenantflow.processing import databricks_spec as spec

MAX_GENERATIONS = 20  # fresh runs per Airflow run: bounded by the task's retries in practice


class MissingDatabricksCluster(ValueError):
    """A pipeline uses engine 'databricks' but its tenant has no `databricks:` cluster settings."""


class TenantDatabricksRunOperator(DatabricksSubmitRunOperator):
    """``DatabricksSubmitRunOperator`` bound to one tenant's workspace connection and job cluster."""

    def __init__(self, *, pipeline_ctx: PipelineContext, **kwargs: Any) -> None:
        tenant = pipeline_ctx.tenant
        cluster = tenant.databricks
        if cluster is None:
            raise MissingDatabricksCluster(
                f"pipeline {pipeline_ctx.pipeline.id!r} of tenant {tenant.id!r} uses engine 'databricks' but "
                f"tenant_configs/{tenant.id}/tenant.yaml has no `databricks:` section (spark_version, "
                "node_type_id or instance_pool_id, autoscale, cost_center, wheel)")
        conn_id = spec.connection_id(tenant.id)
        require_own_connection(tenant.id, conn_id)
        kwargs.setdefault("deferrable", True)
        super().__init__(
            databricks_conn_id=conn_id,
            timeout_seconds=cluster.timeout_seconds,
            polling_period_seconds=cluster.poll_interval_seconds,
            **kwargs,
        )
        self.pipeline_ctx = pipeline_ctx
        self.cluster = cluster

    def execute(self, context: Any) -> Any:
        ctx = self.pipeline_ctx
        require_own_connection(ctx.tenant_id, self.databricks_conn_id)
        airflow_run_id = str(context["run_id"])
        self.run_name = spec.run_name(ctx, airflow_run_id)
        self.tasks = [spec.submit_task(ctx, self.cluster, airflow_run_id, ctx.home)]
        self._choose_run(context, airflow_run_id)
        # same token as the run chosen above: runs/submit returns that run, then the operator defers
        result = super().execute(context)
        if not self.deferrable:  # waited for the run here (deferrable: recorded in execute_complete)
            self._record_usage(context, self.run_id)
        return result

    def execute_complete(self, context: Any, event: dict) -> None:
        # before the verdict: a failed run used its cluster too
        if context is not None and event.get("run_id") is not None:
            self._record_usage(context, event["run_id"])
        super().execute_complete(context, event)

    def _record_usage(self, context: Any, databricks_run_id: int) -> None:
        """XCom ``tenantflow_usage``: the run's wall time and node count, for `tenantflow usage`."""
        from tenantflow.processing.databricks_usage import USAGE_XCOM_KEY, usage_record

        record = usage_record(self._hook.get_run(databricks_run_id), nodes=1 + self.cluster.autoscale.max_workers,
                              node_type=self.cluster.node_type_id or self.cluster.instance_pool_id)
        if record is not None:
            context["ti"].xcom_push(key=USAGE_XCOM_KEY, value=record)

    def _choose_run(self, context: Any, airflow_run_id: str) -> None:
        """Find the token whose run is new, running or succeeded; a failed earlier run gets a successor."""
        from airflow.providers.databricks.hooks.databricks import RunState

        ctx = self.pipeline_ctx
        for generation in range(MAX_GENERATIONS):
            self.idempotency_token = spec.idempotency_token(ctx.tenant_id, ctx.pipeline.id, airflow_run_id,
                                                            generation)
            self.run_id = self._hook.submit_run(self._prepare_submit_json(context))
            state = RunState(**self._hook.get_run(self.run_id)["state"])
            if not state.is_terminal or state.is_successful:
                self.log.info("Databricks run %s (token %s, %s)", self.run_id, self.idempotency_token, state)
                return
            self.log.warning("Databricks run %s of an earlier try ended %s; submitting a new run", self.run_id,
                             state)
        raise RuntimeError(f"{MAX_GENERATIONS} Databricks runs of {airflow_run_id} failed; not submitting more")


def databricks_run_operator(ctx: PipelineContext, **kwargs: Any) -> TenantDatabricksRunOperator:
    return TenantDatabricksRunOperator(pipeline_ctx=ctx, **kwargs)
