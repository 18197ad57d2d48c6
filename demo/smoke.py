"""Smoke check of a running demo over Airflow's REST API, as a tenant user would use it."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("tenantflow.demo")


class SmokeCheckFailed(RuntimeError):
    pass


def wait_healthy(port: int, procs: dict[str, Any], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SmokeCheckFailed(f"{name} exited with {proc.returncode} during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise SmokeCheckFailed(f"api-server not healthy on port {port} after {timeout:.0f}s")


class ApiClient:
    def __init__(self, port: int, username: str, password: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        response = self.http.post("/auth/token", json={"username": username, "password": password})
        if response.status_code not in (200, 201):
            raise SmokeCheckFailed(f"login of {username} failed: {response.status_code} {response.text[:200]}")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(f"/api/v2{path}", params=params)

    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self.get("/dags", limit=500).json()["dags"])


def _wait(what: str, predicate, timeout: float, interval: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SmokeCheckFailed(f"timed out after {timeout:.0f}s waiting for {what}")


def smoke_check(port: int, state: Path, timeout: float = 420) -> dict[str, Any]:
    engineer = ApiClient(port, "finance_engineer", "finance_engineer-demo")
    expected = _finance_dag_ids()

    def all_visible() -> list[str] | None:
        ids = engineer.dag_ids()
        return ids if set(expected) <= set(ids) else None

    dags = _wait("the finance DAGs to be parsed", all_visible, timeout)
    if not dags or any(not d.startswith("finance__") for d in dags):
        raise SmokeCheckFailed(f"finance_engineer sees {dags}; expected only finance__* DAGs")
    log.info("finance_engineer sees only finance DAGs: %s", dags)
    ui = engineer.http.get("/ui/dags", params={"limit": 50})  # what the web UI's DAG list calls
    ui_dags = sorted(d["dag_id"] for d in ui.json().get("dags", [])) if ui.status_code == 200 else None
    if ui_dags != dags:
        raise SmokeCheckFailed(f"UI DAG list for finance_engineer: HTTP {ui.status_code}, {ui_dags}; expected {dags}")
    foreign = engineer.get("/dags/retail__sales").status_code
    if foreign not in (403, 404):
        raise SmokeCheckFailed(f"finance_engineer reading retail__sales got HTTP {foreign}, expected 403")

    dag_id = "finance__customers"
    paused = engineer.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
    if paused.status_code != 200:
        raise SmokeCheckFailed(f"unpausing {dag_id} failed: {paused.status_code} {paused.text[:300]}")
    created = engineer.http.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
    if created.status_code not in (200, 201):
        raise SmokeCheckFailed(f"triggering {dag_id} failed: {created.status_code} {created.text[:300]}")
    run_id = created.json()["dag_run_id"]
    log.info("finance_engineer triggered %s run %s", dag_id, run_id)

    def finished() -> str | None:
        state_ = engineer.get(f"/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
        return state_ if state_ in ("success", "failed") else None

    outcome = _wait(f"run {run_id} to finish", finished, timeout)
    if outcome != "success":
        raise SmokeCheckFailed(f"run {run_id} of {dag_id} ended {outcome}; see .tenantflow/logs and the UI")
    rows = _iceberg_rows(state, "finance.customers")
    with sqlite3.connect(state / "sources" / "finance" / "erp.db") as conn:
        (source_rows,) = conn.execute("SELECT count(*) FROM customers").fetchone()
    if rows != source_rows:
        raise SmokeCheckFailed(f"finance.customers holds {rows} rows, the source has {source_rows}")
    result = {"visible_dags": dags, "foreign_status": foreign, "run_id": run_id, "rows": rows}
    log.info("smoke check passed: %s", result)
    return result


def _finance_dag_ids() -> list[str]:
    import os

    from tenantflow import naming
    from tenantflow.config.loader import load_tenant

    bundle = load_tenant(Path(os.environ.get("TENANTFLOW_CONFIG_DIR", "tenant_configs")), "finance")
    return naming.tenant_dag_ids("finance", [p.id for p in bundle.pipelines if p.enabled])


def _iceberg_rows(state: Path, identifier: str) -> int:
    import os

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    platform = load_platform(Path(os.environ.get("TENANTFLOW_CONFIG_DIR", "tenant_configs"))).config
    # the smoke check reads finance's tables: the catalog's warehouse is per tenant ('{tenant}')
    catalog = open_catalog("local", platform.catalogs["local"], str(state), tenant_id="finance")
    return catalog.load_table(identifier).scan().to_arrow().num_rows
