"""Chargeback: what each tenant used (task slot time, landing, Iceberg storage, Databricks) and its cost."""

from __future__ import annotations

from tenantflow.usage.report import month_to_date

__all__ = ["month_to_date"]
