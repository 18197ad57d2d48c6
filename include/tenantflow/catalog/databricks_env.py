"""The one place that reads Databricks credentials from the environment: a job cluster has no Airflow connections.

Databricks unified client authentication: ``DATABRICKS_HOST`` with ``DATABRICKS_TOKEN`` (a personal
access token) or ``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET`` (OAuth machine-to-machine) —
what a job cluster, or a developer shell, provides.
"""

from __future__ import annotations

from tenantflow.catalog.credentials import CatalogCredentials
from tenantflow.settings import job_environment

HOST, TOKEN, CLIENT_ID, CLIENT_SECRET = ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID",
                                         "DATABRICKS_CLIENT_SECRET")


def databricks_job_credentials() -> CatalogCredentials | None:
    """Catalog credentials from DATABRICKS_* variables, or None when DATABRICKS_HOST is not set."""
    host = job_environment(HOST)
    if not host:
        return None
    token = job_environment(TOKEN)
    if token:
        return CatalogCredentials(host=host, password=token)
    return CatalogCredentials(host=host, login=job_environment(CLIENT_ID), password=job_environment(CLIENT_SECRET))
