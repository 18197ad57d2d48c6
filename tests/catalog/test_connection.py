"""The catalog connection hook: the tenant's own connection, else the Databricks job's environment."""

from __future__ import annotations

import json

import pytest

from tenantflow.catalog.connection import CatalogConnectionHook, tenant_catalog_credentials
from tenantflow.catalog.credentials import CatalogCredentials
from tenantflow.isolation.guards import TenantIsolationError


@pytest.fixture(autouse=True)
def no_databricks_env(monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_reads_the_tenants_own_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__DATABRICKS", json.dumps({
        "conn_type": "databricks", "host": "dbc-fin.cloud.databricks.com", "schema": "https", "port": 8443,
        "login": "sp-finance", "password": "s3cret", "extra": {"scope": "all-apis"}}))
    assert tenant_catalog_credentials("finance", "databricks") == CatalogCredentials(
        host="https://dbc-fin.cloud.databricks.com:8443", login="sp-finance", password="s3cret",
        extra=(("scope", "all-apis"),))


def test_refuses_another_tenants_connection():
    with pytest.raises(TenantIsolationError, match="tenant 'finance' may not use connection 'retail__databricks'"):
        CatalogConnectionHook(tenant_id="finance", connection_id="retail__databricks")


def test_without_a_connection_a_databricks_job_uses_its_environment(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-job.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_TOKEN", "job-token")
    assert tenant_catalog_credentials("finance", "databricks") == CatalogCredentials(
        host="https://dbc-job.cloud.databricks.com", password="job-token")
    monkeypatch.delenv("DATABRICKS_TOKEN")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp-job")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "sp-secret")
    assert tenant_catalog_credentials("finance", "databricks") == CatalogCredentials(
        host="https://dbc-job.cloud.databricks.com", login="sp-job", password="sp-secret")


def test_neither_says_what_to_create():
    with pytest.raises(LookupError, match=r"catalog connection 'finance__databricks' not found .*DATABRICKS_HOST"):
        tenant_catalog_credentials("finance", "databricks")
