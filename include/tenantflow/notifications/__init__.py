"""Tenant alerting: events routed by severity to the tenant's targets through Airflow's provider notifiers."""
