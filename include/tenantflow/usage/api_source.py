"""Usage through Airflow's REST API, for task code (Airflow 3 tasks have no metadata-DB access).

The monthly report task cannot run ``queries.py``: in Airflow 3 task code talks to the Execution API,
which only serves the running task's own state (its XComs, variables, connections), and direct ORM
access is refused. The public REST API (``/api/v2``) lists any DAG's task instances with filters on
dag id and start date, and each task's earlier tries, so the report reads one tenant's month from it
with a platform service account (connection ``tenantflow_api``: host/port of the api-server, login and
password of a user that may read every tenant DAG, e.g. the ``platform_admin`` role). It sums what the
API returns the same way ``queries.py`` does in SQL: every try, charged to the day it started.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

from airflow.sdk.bases.hook import BaseHook

from tenantflow import naming
from tenantflow.usage.period import Period
from tenantflow.usage.queries import DatabricksUsage, TaskUsage

PAGE = 100  # the api-server's default [api] maximum_page_limit


class AirflowApiHook(BaseHook):
    """An authenticated client of this deployment's REST API (``/auth/token``, then ``/api/v2``)."""

    conn_name_attr = "airflow_api_conn_id"
    default_conn_name = "tenantflow_api"
    conn_type = "http"
    hook_name = "Airflow REST API (tenantflow usage report)"

    def __init__(self, airflow_api_conn_id: str = default_conn_name, *, timeout: float = 60.0) -> None:
        super().__init__()
        self.airflow_api_conn_id = airflow_api_conn_id
        self.timeout = timeout

    @cached_property
    def client(self) -> Any:
        import httpx

        conn = self.get_connection(self.airflow_api_conn_id)
        host = conn.host or "127.0.0.1"
        base = host if "://" in host else f"{conn.schema or 'http'}://{host}"
        if conn.port:
            base = f"{base.rstrip('/')}:{conn.port}"
        response = httpx.post(f"{base}/auth/token", json={"username": conn.login, "password": conn.password},
                              timeout=self.timeout)
        if response.status_code >= 400:
            raise PermissionError(f"connection {self.airflow_api_conn_id!r}: {base}/auth/token refused the "
                                  f"login of {conn.login!r} ({response.status_code})")
        token = response.json()["access_token"]
        return httpx.Client(base_url=f"{base}/api/v2", headers={"Authorization": f"Bearer {token}"},
                            timeout=self.timeout)

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def pages(self, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.get(path, limit=PAGE, offset=offset, **params)
            yield from page[key]
            offset += len(page[key])
            if not page[key] or offset >= page["total_entries"]:
                return


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _tenant_instances(hook: AirflowApiHook, period: Period, tenant_id: str) -> Iterator[dict[str, Any]]:
    # dag_id_pattern is a LIKE search ('_' matches any character): keep the tenant's own DAGs only
    for ti in hook.pages("/dags/~/dagRuns/~/taskInstances", "task_instances",
                         dag_id_pattern=f"{tenant_id}{naming.SEPARATOR}", start_date_gte=period.start.isoformat(),
                         start_date_lt=period.end.isoformat()):
        split = naming.split_dag_id(ti["dag_id"])
        if split is not None and split[0] == tenant_id:
            yield ti


def task_usage_from_api(hook: AirflowApiHook, period: Period, tenant_id: str) -> list[TaskUsage]:
    """What ``queries.task_usage`` gives for one tenant, from the REST API."""
    totals: dict[Any, list[float]] = {}

    def add(attempt: dict[str, Any]) -> None:
        start, end = _moment(attempt.get("start_date")), _moment(attempt.get("end_date"))
        if start is None or end is None or not period.contains(start):
            return
        seconds = (end - start).total_seconds()
        entry = totals.setdefault(start.date(), [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += seconds
        entry[2] += seconds * int(attempt.get("pool_slots", 1))

    for ti in _tenant_instances(hook, period, tenant_id):
        add(ti)
        if int(ti.get("try_number") or 0) > 1:  # earlier tries live in the task's history
            path = (f"/dags/{quote(ti['dag_id'])}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/"
                    f"{quote(ti['task_id'])}" + (f"/{ti['map_index']}" if ti.get("map_index", -1) >= 0 else "")
                    + "/tries")
            for attempt in hook.pages(path, "task_instances"):
                if int(attempt["try_number"]) < int(ti["try_number"]):
                    add(attempt)
    return [TaskUsage(tenant_id, day, int(n), secs, slots) for day, (n, secs, slots) in sorted(totals.items())]


def databricks_usage_from_api(hook: AirflowApiHook, period: Period, tenant_id: str) -> list[DatabricksUsage]:
    """The tenant's Databricks runs (XCom ``tenantflow_usage`` of its ``databricks`` tasks) in ``period``."""
    import json

    from tenantflow.processing.databricks_usage import USAGE_XCOM_KEY

    totals: dict[Any, list[float]] = {}
    seen: set[tuple[str, str]] = set()
    for ti in _tenant_instances(hook, period, tenant_id):
        if ti["task_id"] != "databricks" or (ti["dag_id"], ti["dag_run_id"]) in seen:
            continue
        seen.add((ti["dag_id"], ti["dag_run_id"]))
        path = (f"/dags/{quote(ti['dag_id'])}/dagRuns/{quote(ti['dag_run_id'], safe='')}/taskInstances/"
                f"{quote(ti['task_id'])}/xcomEntries/{USAGE_XCOM_KEY}")
        response = hook.client.get(path)
        if response.status_code == 404:
            continue
        response.raise_for_status()
        value = response.json()["value"]
        record = json.loads(value) if isinstance(value, str) else value
        started = datetime.fromtimestamp(record["start_ms"] / 1000, tz=period.start.tzinfo)
        if period.contains(started):
            entry = totals.setdefault(started.date(), [0, 0.0])
            entry[0] += 1
            entry[1] += float(record["node_seconds"])
    return [DatabricksUsage(tenant_id, day, int(n), secs) for day, (n, secs) in sorted(totals.items())]
