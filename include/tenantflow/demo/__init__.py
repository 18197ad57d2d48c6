"""Deterministic demo source data for the tenantflow demo tenants."""
