"""Airflow DAG entry file of one tenant; the file name is the tenant id (see tenant_configs/)."""

from tenantflow.factory import tenant_dags

globals().update(tenant_dags(__file__))
