"""Entry point used by each tenant's DAG file: build that tenant's pipeline DAGs.

A tenant's config errors raise here, so Airflow records an import error for that
tenant's file only; other tenants' files keep loading. An entry file whose tenant folder is gone (the
tenant was offboarded) yields no DAGs. When a worker parses to run one
task, ``get_parsing_context().dag_id`` names the DAG: only that pipeline is built (every pipeline's
config for the tenant's maintenance DAG, which maintains all of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenantflow import naming
from tenantflow.config.loader import load_tenant
from tenantflow.factory.dag_builder import build_dag
from tenantflow.factory.maintenance_dag import build_maintenance_dag
from tenantflow.pipeline_context import PipelineContext
from tenantflow.settings import get_settings


def _requested_dag_id() -> str | None:
    from airflow.sdk import get_parsing_context

    return get_parsing_context().dag_id


def tenant_dags(entry_file: str, tenant_id: str | None = None) -> dict[str, Any]:
    """{dag_id: DAG} for the tenant named by the entry file (``dags/tenants/<tenant>.py``)."""
    settings = get_settings(entry_file)
    tenant_id = tenant_id or Path(entry_file).stem
    only_pipeline = None
    requested = _requested_dag_id()
    if requested is not None:
        parts = naming.split_dag_id(requested)
        if parts is None or parts[0] != tenant_id:
            return {}  # the worker wants a DAG of another file
        only_pipeline = None if parts[1] == naming.MAINTENANCE else parts[1]  # maintenance needs every pipeline
    if not (settings.config_dir / tenant_id).is_dir():
        return {}  # a retired tenant whose entry file is still there: no DAGs, and no import error for it
    bundle = load_tenant(settings.config_dir, tenant_id, only_pipeline=only_pipeline,
                         cache_dir=settings.home / "cache" / "configs")
    pod_templates = str(settings.kubernetes_pod_templates) if settings.kubernetes_pod_templates else None
    contexts = [PipelineContext(bundle.tenant, p, bundle.platform, str(settings.home), pod_templates)
                for p in bundle.pipelines if p.enabled]
    maintenance_id = naming.maintenance_dag_id(tenant_id)
    dags = {ctx.dag_id: build_dag(ctx) for ctx in contexts if requested in (None, ctx.dag_id)}
    if contexts and requested in (None, maintenance_id):
        dags[maintenance_id] = build_maintenance_dag(contexts)
    return dags
