"""Names derived from tenant and pipeline ids: one place, so DAGs, sync and policies agree."""

from __future__ import annotations

SEPARATOR = "__"


def dag_id(tenant_id: str, pipeline_id: str) -> str:
    return f"{tenant_id}{SEPARATOR}{pipeline_id}"


MAINTENANCE = "maintenance"  # reserved pipeline id: the tenant's table-maintenance DAG is <tenant>__maintenance


def maintenance_dag_id(tenant_id: str) -> str:
    return dag_id(tenant_id, MAINTENANCE)


def tenant_dag_ids(tenant_id: str, pipeline_ids: list[str]) -> list[str]:
    """Every DAG of a tenant with these enabled pipelines: one per pipeline, plus its maintenance DAG."""
    pipelines = sorted(dag_id(tenant_id, p) for p in pipeline_ids)
    return [*pipelines, maintenance_dag_id(tenant_id)] if pipelines else []


def split_dag_id(value: str) -> tuple[str, str] | None:
    """(tenant, pipeline) of a tenantflow DAG id, or None for any other DAG."""
    tenant_id, sep, pipeline_id = value.partition(SEPARATOR)
    return (tenant_id, pipeline_id) if sep and tenant_id and pipeline_id else None


def pool_name(tenant_id: str) -> str:
    return f"tenant_{tenant_id}"


def queue_name(tenant_id: str) -> str:
    return f"tenant_{tenant_id}"


def tenant_tag(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


PII_SECRET_CONNECTION = "pii"  # the tenant's PII hashing key: connection <tenant>__pii (unless the pipeline names one)


def pii_secret_connection_id(tenant_id: str) -> str:
    return f"{tenant_id}{SEPARATOR}{PII_SECRET_CONNECTION}"


def owns_connection(tenant_id: str, connection_id: str) -> bool:
    """Tenant connections are named '<tenant>__<name>'."""
    return connection_id.startswith(f"{tenant_id}{SEPARATOR}")


def owns_namespace(tenant_id: str, namespace: str) -> bool:
    """A tenant's Iceberg namespaces are '<tenant>' or '<tenant>_<suffix>'."""
    return namespace == tenant_id or namespace.startswith(f"{tenant_id}_")


AUDIT_NAMESPACE = "tenantflow_audit"  # the platform's audit tables (one per tenant); owned by no tenant


def reserved_tenant_id(tenant_id: str) -> bool:
    """A tenant with this id would own a platform namespace (``tenantflow``, ``tenantflow_audit``...)."""
    return owns_namespace(tenant_id, AUDIT_NAMESPACE)


def table_identifier(namespace: str, table: str) -> str:
    return f"{namespace}.{table}"


def table_asset_uri(catalog: str, namespace: str, table: str) -> str:
    """The Airflow Asset URI of a tenant's Iceberg table (updated by its pipeline's ``register`` task).

    'x-' schemes are opaque to Airflow: no provider URI normaliser (and no boto3) is loaded at parse.
    """
    return f"x-iceberg://{catalog}/{namespace}/{table}"


def arrival_asset_name(tenant_id: str, pipeline_id: str) -> str:
    """The Asset a ``schedule: {on: file_arrival}`` pipeline's watcher updates (one per pipeline)."""
    return f"{dag_id(tenant_id, pipeline_id)}__file_arrival"


def arrival_asset_uri(tenant_id: str, pipeline_id: str) -> str:
    return f"x-file-arrival://{tenant_id}/{pipeline_id}"



def kubernetes_namespace(tenant_id: str) -> str:
    """The tenant's Kubernetes namespace (`tenantflow k8s`): a DNS label, so '_' becomes '-'."""
    return f"tenantflow-{tenant_id.replace('_', '-')}"
