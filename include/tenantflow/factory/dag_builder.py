"""Build one pipeline DAG: extract → land → quality → [transform] → load → register, one task per stage.

A stream source (queue, CDC) is drained by one ``consume`` task instead (then ``register``): its micro-batches
land, load and are acknowledged in turn, each commit holding the stream position.

Engine 'local' adds a ``transform`` task (DuckDB) when the pipeline has a transform; engine
'databricks' replaces transform and load with one ``databricks`` task: a run of the shipped job
on the tenant's workspace, which transforms and writes the table with the same write modes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, BaseOperator, chain

from tenantflow import naming
from tenantflow.factory.docs import pipeline_doc_md
from tenantflow.factory.schedule import pipeline_schedule, table_asset
from tenantflow.notifications.sla import deadline_alerts
from tenantflow.operators.consume import StreamConsumeOperator
from tenantflow.operators.extract import ExtractOperator
from tenantflow.operators.land import LandOperator
from tenantflow.operators.load import IcebergLoadOperator
from tenantflow.operators.quality import QualityCheckOperator
from tenantflow.operators.register import RegisterTableOperator
from tenantflow.operators.transform import LocalTransformOperator
from tenantflow.pipeline_context import PipelineContext
from tenantflow.streams.registry import is_stream_source

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
KUBERNETES_EXECUTOR = "KubernetesExecutor"  # must be in [core] executor, else the DAG fails to import
# One task per stage, named after it: a task group around a single task would only add a level to
# every task id and to the grid. Task ids of the first releases, for reading their run history:
# extract.extract, land.land_raw, quality.validate, transform.transform_sql, load.load_iceberg,
# register.register_table, databricks.run_job (see docs/architecture.md, "Task ids").


def default_args(ctx: PipelineContext) -> dict[str, Any]:
    """Arguments every task of the pipeline carries: the tenant's pool, queue, owner and retry policy."""
    retries = ctx.tenant.retries
    args: dict[str, Any] = {
        "owner": ctx.owner,
        "pool": naming.pool_name(ctx.tenant_id),
        "retries": retries.retries,
        "retry_delay": timedelta(seconds=retries.retry_delay_seconds),
        "retry_exponential_backoff": 2.0 if retries.exponential_backoff else 0,
        "max_retry_delay": timedelta(seconds=retries.max_retry_delay_seconds),
    }
    if ctx.tenant.quotas.worker_queue:
        args["queue"] = ctx.tenant.quotas.worker_queue
    args.update(kubernetes_executor_args(ctx))
    if wants_alert(ctx, "failure"):
        from tenantflow.notifications.notifier import TenantAlertNotifier

        args["on_failure_callback"] = TenantAlertNotifier(pipeline_ctx=ctx, event="failure")
    return args


def kubernetes_executor_args(ctx: PipelineContext) -> dict[str, Any]:
    """With ``[tenantflow] kubernetes_pod_templates`` set: Airflow 3's per-task executor, the tenant's pod template.

    Plain strings (no kubernetes import at parse time); the cluster policy's pod mutation hook moves the pod into
    the tenant's namespace, as the executor puts every pod into its own namespace whatever the template says.
    """
    if ctx.pod_templates is None:
        return {}
    return {"executor": KUBERNETES_EXECUTOR,
            "executor_config": {"pod_template_file": f"{ctx.pod_templates.rstrip('/')}/{ctx.tenant_id}.yaml"}}


def wants_alert(ctx: PipelineContext, event: str) -> bool:
    """Whether the failure callback is needed: failures are routed to a target, or escalation counts them."""
    alerting = ctx.tenant.alerting
    return bool(alerting.targets_for(event)[1]) or alerting.escalation is not None


def run_callbacks(ctx: PipelineContext) -> dict[str, Any]:
    """The DAG's own callbacks: the run's success (alert `success`)."""
    if not ctx.tenant.alerting.targets_for("success")[1]:
        return {}
    from tenantflow.notifications.notifier import TenantAlertNotifier

    return {"on_success_callback": TenantAlertNotifier(pipeline_ctx=ctx, event="success")}


def build_dag(ctx: PipelineContext) -> DAG:
    # No access_control: the reconcile grants each tenant role its per-DAG permissions (isolation/sync.py).
    # A DAG whose access_control names a role that does not exist yet fails to import, so a new tenant's
    # DAGs would show an import error until its roles were made; without it, they never do.
    pipeline, tenant = ctx.pipeline, ctx.tenant
    tags = [naming.tenant_tag(tenant.id), f"tier:{tenant.tier}", f"engine:{ctx.engine}", *pipeline.tags]
    with DAG(
        dag_id=ctx.dag_id,
        description=(pipeline.description.strip().splitlines() or [""])[0][:200] or None,
        schedule=pipeline_schedule(ctx),
        start_date=START_DATE,
        catchup=False,
        tags=tags,
        default_args=default_args(ctx),
        max_active_runs=tenant.quotas.max_active_runs,
        max_active_tasks=tenant.quotas.max_active_tasks,
        doc_md=pipeline_doc_md(ctx),
        render_template_as_native_obj=False,
        deadline=deadline_alerts(ctx) or None,  # the pipeline's `sla:` (alert `sla_miss`)
        **run_callbacks(ctx),
    ) as dag:
        register = RegisterTableOperator(
            task_id="register",
            pipeline_ctx=ctx,
            outlets=[table_asset(ctx.catalog_name, ctx.namespace, ctx.pipeline.target.table)],  # for `after:`
            **_last_task_callbacks(ctx),
        )
        chain(*_stage_tasks(ctx), register)
    return dag


def _stage_tasks(ctx: PipelineContext) -> list[BaseOperator]:
    """The tasks before register: the batch stages, or for a stream source (queue, CDC) one consume task
    whose micro-batches land, load and acknowledge in turn (streams/consume.py)."""
    if is_stream_source(ctx.pipeline.source):
        return [StreamConsumeOperator(task_id="consume", pipeline_ctx=ctx)]
    extract = ExtractOperator(task_id="extract", pipeline_ctx=ctx)
    land = LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id=extract.task_id)
    quality = QualityCheckOperator(task_id="quality", pipeline_ctx=ctx)
    return [extract, land, quality, *_process_tasks(ctx)]


def _last_task_callbacks(ctx: PipelineContext) -> dict[str, Any]:
    """With escalation, the last task's success resets the count of failed runs in a row (task process)."""
    if ctx.tenant.alerting.escalation is None:
        return {}
    from tenantflow.notifications.notifier import TenantAlertNotifier

    return {"on_success_callback": TenantAlertNotifier(pipeline_ctx=ctx, event="last_task_succeeded")}


def _process_tasks(ctx: PipelineContext) -> list[BaseOperator]:
    """The tasks between quality and register, by engine."""
    if ctx.engine == "databricks":
        from tenantflow.operators.databricks import databricks_run_operator

        return [databricks_run_operator(ctx, task_id="databricks")]
    tasks: list[BaseOperator] = []
    if ctx.pipeline.transform is not None:
        tasks.append(LocalTransformOperator(task_id="transform", pipeline_ctx=ctx))
    tasks.append(IcebergLoadOperator(task_id="load", pipeline_ctx=ctx))
    return tasks
