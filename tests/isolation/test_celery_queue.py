"""Worker isolation: a ``dedicated`` tenant's tasks run only on its own Celery queue ``tenant_<id>``.

Real CeleryExecutor: this machine's Redis as broker (a db number of this test's own) and the
test's PostgreSQL database as metadata DB and result backend. One worker listens only on
``tenant_healthcare`` (healthcare is the dedicated-tier tenant); a scheduler and an
api-server run the DAGs. A healthcare run and a finance run are triggered: the healthcare
tasks run on that worker; the finance tasks are never picked by it and wait on ``default``
until a default-queue worker (which reports another hostname) starts.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psycopg2
import pytest
import redis

from isolation.stack import Stack, drop_database, fresh_database, login
from tenantflow.config.loader import load_tenant

pytestmark = pytest.mark.e2e

REDIS_DB = 11  # this test's own Redis database number
DEDICATED_WORKER_HOSTNAME = "airflow.utils.net.get_host_ip_address"  # tells the two workers apart


def _tis(db_url: str, dag_prefix: str) -> list[dict]:
    conn = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT dag_id, task_id, state, queue, hostname FROM task_instance WHERE dag_id LIKE %s",
                    (f"{dag_prefix}%",))
        rows = [dict(zip(("dag_id", "task_id", "state", "queue", "hostname"), r, strict=True))
                for r in cur.fetchall()]
    conn.close()
    return rows


def _wait(what: str, predicate, timeout: float, stack: Stack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for name, proc in stack.procs.items():
            assert proc.poll() is None, f"{name} exited {proc.returncode}:\n{stack.log_tail(name)}"
        time.sleep(1)
    logs = "\n".join(f"--- {n}\n{stack.log_tail(n, 2500)}" for n in stack.procs)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def test_dedicated_tenant_tasks_run_only_on_its_own_worker_queue(tmp_path: Path, demo_sources):
    healthcare = load_tenant(Path(os.environ["TENANTFLOW_CONFIG_DIR"]), "healthcare").tenant
    assert healthcare.tier == "dedicated" and healthcare.quotas.worker_queue == "tenant_healthcare"
    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
    db_url = fresh_database("celery")
    stack = Stack(
        tmp_path, db_url,
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        AIRFLOW__CELERY__RESULT_BACKEND="db+" + db_url,
        AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
        AIRFLOW__OPERATORS__DEFAULT_QUEUE="default",
        TENANTFLOW_HOME=os.environ["TENANTFLOW_HOME"],
    )
    try:
        stack.migrate_sync_parse()
        base = stack.start_api_server()
        stack.start("scheduler", "scheduler")
        stack.env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = DEDICATED_WORKER_HOSTNAME
        stack.start("worker-healthcare", "celery", "worker", "--queues", "tenant_healthcare",
                    "--celery-hostname", "tenant_healthcare@%h")
        del stack.env["AIRFLOW__CORE__HOSTNAME_CALLABLE"]
        admin = login(base, "platform_admin")
        for dag_id in ("healthcare__appointments", "finance__customers"):
            assert admin.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).status_code == 200
            created = admin.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
            assert created.status_code == 200, created.text

        def healthcare_ran():
            done = [t for t in _tis(db_url, "healthcare__") if t["state"] in ("success", "failed", "up_for_retry")]
            return done or None

        ran = _wait("a healthcare task to run on the tenant_healthcare worker", healthcare_ran, 240, stack)
        time.sleep(5)  # the dedicated worker has had time to take anything offered to it
        healthcare_tis = [t for t in _tis(db_url, "healthcare__") if t["hostname"]]
        finance_tis = _tis(db_url, "finance__")
        dedicated_hosts = {t["hostname"] for t in healthcare_tis}
        assert {t["queue"] for t in healthcare_tis} == {"tenant_healthcare"}, healthcare_tis
        assert finance_tis and {t["queue"] for t in finance_tis} == {"default"}, finance_tis
        assert all(not t["hostname"] for t in finance_tis), f"the tenant_healthcare worker ran: {finance_tis}"
        assert any(t["state"] == "queued" for t in finance_tis), finance_tis
        assert "finance__" not in stack.log_tail("worker-healthcare", 10**7)

        stack.start("worker-default", "celery", "worker", "--queues", "default",
                    "--celery-hostname", "default@%h")

        def finance_ran():
            return [t for t in _tis(db_url, "finance__") if t["hostname"]] or None

        finance_done = _wait("a finance task on the default worker", finance_ran, 180, stack)
        assert {t["hostname"] for t in finance_done}.isdisjoint(dedicated_hosts), (finance_done, dedicated_hosts)
        print("\ncelery queue isolation: " + json.dumps({  # noqa: T201 - figures for the closing note
            "healthcare_tasks_on_dedicated_worker": len(healthcare_tis), "first": ran[0]["task_id"],
            "dedicated_hostname": sorted(dedicated_hosts), "finance_queue": "default",
            "finance_tasks_taken_by_dedicated_worker": 0,
            "finance_hostname": sorted({t["hostname"] for t in finance_done})}))
    finally:
        stack.stop()
        drop_database(db_url)
