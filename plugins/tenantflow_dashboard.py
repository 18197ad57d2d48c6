"""Registers the Tenants dashboard (airflow plugin; the code lives in tenantflow.dashboard)."""

from tenantflow.dashboard.plugin import TenantsDashboardPlugin

__all__ = ["TenantsDashboardPlugin"]
