"""The DAG factory: tenant configs in, Airflow DAGs out (pure functions)."""

from tenantflow.factory.tenant_dags import tenant_dags

__all__ = ["tenant_dags"]
