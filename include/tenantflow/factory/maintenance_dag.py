"""The tenant's table-maintenance DAG (``<tenant>__maintenance``), built from platform and tenant config.

Run by the platform on the tenant's resources: the tenant's pool (and queue), tags and roles, so the
cluster policy and RBAC treat it like the tenant's other DAGs; the schedule comes from the platform's
``maintenance:`` defaults unless the tenant set its own (within the platform's bounds). Its tasks run
only platform code (``operators/maintenance.py``), one per pipeline plus one for the quality tables.
"""

from __future__ import annotations

from airflow.sdk import DAG

from tenantflow import naming
from tenantflow.config.effective import effective_maintenance
from tenantflow.factory.dag_builder import START_DATE, default_args
from tenantflow.operators.maintenance import QualityTablesMaintenanceOperator, TableMaintenanceOperator
from tenantflow.pipeline_context import PipelineContext


def build_maintenance_dag(contexts: list[PipelineContext]) -> DAG:
    """The maintenance DAG of the tenant whose enabled pipelines are ``contexts`` (at least one)."""
    first = contexts[0]
    tenant = first.tenant
    policy = effective_maintenance(first.platform, tenant)
    from airflow.sdk import CronTriggerTimetable

    args = default_args(first)
    with DAG(
        dag_id=naming.maintenance_dag_id(tenant.id),
        description=f"Table maintenance of tenant {tenant.id}: snapshot expiry, compaction, orphan files, "
                    "retention",
        schedule=CronTriggerTimetable(policy.schedule.cron, timezone=policy.schedule.timezone),
        start_date=START_DATE,
        catchup=False,
        tags=[naming.tenant_tag(tenant.id), "platform", "maintenance"],
        default_args=args,  # the tenant's pool, queue, retries and failure notifications
        max_active_runs=1,  # two maintenance runs of one table would only race each other
        max_active_tasks=tenant.quotas.max_active_tasks,
        doc_md=maintenance_doc_md(contexts, policy),
    ) as dag:
        for ctx in contexts:
            TableMaintenanceOperator(task_id=f"maintain_{ctx.pipeline.id}", pipeline_ctx=ctx)
        QualityTablesMaintenanceOperator(task_id="maintain_quality_tables", pipeline_ctx=first)
    return dag


def maintenance_doc_md(contexts: list[PipelineContext], policy: object) -> str:
    tables = ", ".join(f"`{ctx.table_identifier}`" for ctx in contexts)
    retention = policy.snapshot_retention  # type: ignore[attr-defined]
    return (
        f"### Table maintenance of {contexts[0].tenant.display_name} (`{contexts[0].tenant_id}`)\n\n"
        f"Tables: {tables}, their quarantine tables and the quality tables.\n\n"
        f"- snapshots older than {retention.expire_after} expire (the newest {retention.keep_last} and the one "
        "holding the load state are kept)\n"
        f"- small files are compacted to {policy.compaction.target_file_size_mb} MB "  # type: ignore[attr-defined]
        f"when a partition has {policy.compaction.min_input_files} or more\n"  # type: ignore[attr-defined]
        f"- unreferenced files older than {policy.orphan_files_older_than} are deleted\n"  # type: ignore[attr-defined]
        "- quarantine rows and landing batches older than their retention are deleted\n"
    )
