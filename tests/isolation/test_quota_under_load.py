"""Quota under load: a tenant's pool caps its running tasks while another tenant keeps going.

Retail's pool is set to 2 slots (with room for 8 active runs per DAG) in a temporary config
tree; ``tenantflow sync`` makes the pool, the real scheduler (LocalExecutor, parallelism 6,
on this test's PostgreSQL database) runs a burst of 8 retail runs and 2 finance runs. The
metadata DB is sampled every 0.2 s: retail never has more than 2 tasks running (nor
occupying slots: running + queued), and finance tasks complete meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psycopg2
import pytest

from isolation.stack import Stack, drop_database, fresh_database, login
from yaml_edits import edit

pytestmark = pytest.mark.e2e

POOL_SLOTS = 2
BURST = {"retail__products": 4, "retail__sales": 4}
OTHER = {"finance__fx_rates": 2}
WINDOW_SECONDS = 150
MIN_SAMPLES = 250  # ~1 minute at 0.2 s


def test_tenant_pool_caps_running_tasks_while_another_tenant_progresses(config_tree: Path, demo_sources):
    edit(config_tree / "tenant_configs" / "retail" / "tenant.yaml",
         "  pool_slots: 3\n  max_active_runs: 1\n", f"  pool_slots: {POOL_SLOTS}\n  max_active_runs: 8\n")
    db_url = fresh_database("quota")
    stack = Stack(
        config_tree / "stack", db_url,
        AIRFLOW__CORE__PARALLELISM="6",
        AIRFLOW__CORE__DAGS_FOLDER=str(config_tree / "dags"),
        TENANTFLOW_CONFIG_DIR=str(config_tree / "tenant_configs"),
        TENANTFLOW_DAGS_DIR=str(config_tree / "dags" / "tenants"),
        TENANTFLOW_HOME=os.environ["TENANTFLOW_HOME"],  # where demo_sources wrote the source files
    )
    conn = None
    try:
        stack.migrate_sync_parse()
        base = stack.start_api_server()
        admin = login(base, "platform_admin")
        assert admin.get("/api/v2/pools/tenant_retail").json()["slots"] == POOL_SLOTS
        for dag_id, runs in {**BURST, **OTHER}.items():
            assert admin.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).status_code == 200
            for _ in range(runs):
                created = admin.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
                assert created.status_code == 200, created.text
        stack.start("scheduler", "scheduler")
        conn = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
        conn.autocommit = True
        figures = _sample(conn, stack)
    finally:
        if conn is not None:
            conn.close()
        stack.stop()
        drop_database(db_url)
    print("\nquota under load: " + json.dumps(figures))  # noqa: T201 - figures for the closing note
    assert figures["max_running"] <= POOL_SLOTS and figures["max_occupied"] <= POOL_SLOTS, figures
    assert figures["max_occupied"] == POOL_SLOTS and figures["max_waiting"] >= 1, \
        f"the burst never pressed the pool: {figures}"
    assert figures["other_tenant_completed"] >= 1, f"finance made no progress under retail's burst: {figures}"


def _sample(conn, stack: Stack) -> dict:
    """Sample retail's running/occupying tasks and count finance's finished ones until both are shown."""
    samples = max_running = max_occupied = max_waiting = 0
    other_completed = 0
    retail_done = 0
    started = time.monotonic()
    with conn.cursor() as cur:
        while time.monotonic() - started < WINDOW_SECONDS:
            cur.execute("SELECT state, count(*) FROM task_instance WHERE pool = 'tenant_retail' GROUP BY state")
            states = dict(cur.fetchall())
            running = states.get("running", 0)
            max_running = max(max_running, running)
            max_occupied = max(max_occupied, running + states.get("queued", 0))
            max_waiting = max(max_waiting, states.get("scheduled", 0))  # ready, held back by the pool
            retail_done = sum(states.get(s, 0) for s in ("success", "failed", "upstream_failed", "up_for_retry"))
            cur.execute("SELECT count(*) FROM task_instance WHERE dag_id LIKE 'finance\\_\\_%%' "
                        "AND state = 'success'")
            (other_completed,) = cur.fetchone()
            samples += 1
            if max_occupied >= POOL_SLOTS and other_completed >= 3 and samples >= MIN_SAMPLES:
                break
            proc = stack.procs["scheduler"]
            assert proc.poll() is None, f"scheduler exited:\n{stack.log_tail('scheduler')}"
            time.sleep(0.2)
    return {"pool_slots": POOL_SLOTS, "burst_runs": sum(BURST.values()), "max_running": max_running,
            "max_occupied": max_occupied, "max_waiting": max_waiting, "samples": samples,
            "seconds": round(time.monotonic() - started, 1),
            "retail_tasks_finished": retail_done, "other_tenant_completed": other_completed}
