"""Airflow connections the configs at head need that the base did not: to create before the first run.

The ids are derived the way the task code derives them: a source's ``connection_id``, the Databricks
workspace ``<tenant>__databricks`` (engine databricks), the PII key ``<tenant>__pii`` (or the pipeline's
``pii.secret_connection``) when a column is hashed, and the catalog's ``<tenant>__<connection>``.
"""

from __future__ import annotations

from tenantflow import naming
from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import PipelineConfig
from tenantflow.processing.databricks_spec import connection_id as databricks_connection_id
from tenantflow.review.model import ConfigState, Item, PlanInput, Section, plural


def _hashes(pipeline: PipelineConfig) -> bool:
    policy = pipeline.pii
    return policy is not None and (policy.auto == "hash" or "hash" in policy.declared_methods().values())


def _pipeline_needs(bundle: TenantBundle, pipeline: PipelineConfig) -> dict[str, str]:
    tid = bundle.tenant.id
    dag = naming.dag_id(tid, pipeline.id)
    needs: dict[str, str] = {}
    if pipeline.source.connection_id:
        needs[pipeline.source.connection_id] = f"{pipeline.source.kind} source of {dag}"
    if (pipeline.engine or bundle.tenant.default_engine) == "databricks":
        needs[databricks_connection_id(tid)] = f"Databricks workspace of {dag} (engine databricks)"
    if _hashes(pipeline):
        assert pipeline.pii is not None
        conn = pipeline.pii.secret_connection or naming.pii_secret_connection_id(tid)
        needs[conn] = f"PII hashing key of {dag} (password of at least 32 characters)"
    return needs


def needed_connections(state: ConfigState) -> dict[str, str]:
    """Connection id -> why it is needed, for every tenant of ``state``."""
    needs: dict[str, str] = {}
    for tid, bundle in sorted(state.bundles.items()):
        catalog = bundle.platform.catalogs.get(bundle.tenant.catalog.name)
        if catalog is not None and catalog.connection:
            needs[f"{tid}{naming.SEPARATOR}{catalog.connection}"] = (
                f"credentials of catalog {bundle.tenant.catalog.name} for tenant {tid}")
        for pipeline in bundle.pipelines:
            for conn, why in _pipeline_needs(bundle, pipeline).items():
                needs.setdefault(conn, why)
    return needs


def connections_section(plan_input: PlanInput) -> Section | None:
    before, after = needed_connections(plan_input.base), needed_connections(plan_input.head)
    new = sorted(set(after) - set(before))
    if not new:
        return None
    items = tuple(Item(f"{conn}: {after[conn]}") for conn in new)
    return Section("New connections to create (Airflow connections or the secrets backend, before the first run)",
                   items, (plural(len(new), "new connection"),))
