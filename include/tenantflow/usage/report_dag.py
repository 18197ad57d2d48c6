"""The platform's monthly usage report DAG (``tenantflow_usage_report``): one task writing every tenant's report.

Its dag id has no ``__``: it is the platform's, not a tenant's (the cluster policy and chargeback
leave it out). Runs at 04:00 UTC on the 1st and reports the month before; a manual run may name
another month with the ``month`` param ('YYYY-MM').
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

DAG_ID = "tenantflow_usage_report"


def _write(**context: Any) -> dict[str, list[str]]:
    from tenantflow.usage.monthly import reported_month, write_reports

    moment = context.get("logical_date") or context["dag_run"].run_after
    return write_reports(reported_month(moment, context["params"].get("month")))


def usage_report_dag() -> Any:
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, CronTriggerTimetable, Param

    with DAG(
        dag_id=DAG_ID,
        schedule=CronTriggerTimetable("0 4 1 * *", timezone="UTC"),
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["platform", "chargeback"],
        params={"month": Param(None, type=["null", "string"], description="YYYY-MM (default: last month)")},
        doc_md=__doc__,
    ) as dag:
        PythonOperator(task_id="write_reports", python_callable=_write, retries=2)
    return dag
