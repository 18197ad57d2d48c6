"""Platform DAG (airflow): the monthly usage report of every tenant, written into each tenant's storage."""

from tenantflow.usage.report_dag import usage_report_dag

dag = usage_report_dag()
