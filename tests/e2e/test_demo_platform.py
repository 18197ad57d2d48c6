"""`make demo` end to end: real api-server, scheduler, dag-processor, triggerer and reconcile loop, FAB RBAC.

One demo stack (``python -m demo.launcher``, as ``make demo`` runs it) serves the module, on a git repository
that holds a copy of the repo's tenant configs and DAG entry files:

- the smoke check logs in as the finance Data Engineer over the REST API, asserts that only finance DAGs are
  visible (retail is 403), triggers a finance pipeline under the real scheduler and compares the Iceberg
  table with the source;
- a config PR goes live by itself: a commit adds a tenant folder; with no command run, its DAG appears without
  an import error, its engineer signs in and triggers it; a commit removes it: access is revoked, the DAG is
  paused, its landing zone and table are kept.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DemoStack:
    repo: Path
    state: Path
    port: int
    output: Path

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.repo, check=True, capture_output=True)

    def commit(self, message: str) -> float:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return time.monotonic()

    def token(self, username: str) -> str | None:
        response = httpx.post(f"http://127.0.0.1:{self.port}/auth/token", timeout=30,
                              json={"username": username, "password": f"{username}-demo"})
        return response.json()["access_token"] if response.status_code in (200, 201) else None

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v2", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})


def _git_repo(root: Path) -> Path:
    repo = root / "repo"
    for part in ("tenant_configs", "dags", "plugins"):
        shutil.copytree(REPO / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    for args in (("init", "-q", "-b", "main"), ("config", "user.email", "ci@example.com"),
                 ("config", "user.name", "ci"), ("add", "-A"), ("commit", "-q", "-m", "tenant configs")):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    root = tmp_path_factory.mktemp("demo")
    repo = _git_repo(root)
    stack = DemoStack(repo, root / "state", _free_port(), root / "launcher.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TENANTFLOW_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with stack.output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "demo.launcher", "--scale", "0.02", "--state", str(stack.state),
             "--port", str(stack.port)],
            cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _until("the demo to come up", lambda: "tenantflow demo is up" in stack.output.read_text(errors="replace"),
               timeout=420, proc=proc, stack=stack)
        yield stack
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _until(what: str, predicate: Callable[[], Any], *, timeout: float, interval: float = 1.0,
           proc: subprocess.Popen | None = None, stack: DemoStack | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = ""
    if stack is not None:
        logs = stack.output.read_text(errors="replace")[-3000:]
        for component in ("reconcile", "dag-processor", "scheduler"):
            path = stack.state / "logs" / f"{component}.log"
            if path.exists():
                logs += f"\n--- {component}.log ---\n" + path.read_text(errors="replace")[-3000:]
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def test_demo_serves_tenant_scoped_ui_and_loads_a_triggered_run(demo: DemoStack, monkeypatch):
    from demo.smoke import smoke_check

    monkeypatch.setenv("TENANTFLOW_CONFIG_DIR", str(demo.repo / "tenant_configs"))
    result = smoke_check(demo.port, demo.state)
    assert result["foreign_status"] in (403, 404) and result["visible_dags"]
    assert all(d.startswith("finance__") for d in result["visible_dags"])
    assert "finance_engineer       finance_engineer-demo" in demo.output.read_text()  # the printed logins


def _add_tenant(demo: DemoStack, tenant_id: str) -> None:
    from tenantflow.config.scaffold import scaffold_tenant
    from tenantflow.settings import Settings

    settings = Settings(demo.repo / "tenant_configs", demo.state, demo.repo / "dags" / "tenants")
    scaffold_tenant(settings, tenant_id, display_name=None, email=None)
    pipeline = settings.config_dir / tenant_id / "pipelines" / "example.yaml"
    pipeline.write_text(pipeline.read_text().replace("enabled: false", "enabled: true"))
    drop = demo.state / "sources" / tenant_id / "example"
    drop.mkdir(parents=True)
    (drop / "orders.csv").write_text("id,amount\n" + "".join(f"{i},{i * 1.5}\n" for i in range(1, 51)))


def test_a_merged_tenant_goes_live_by_itself_and_its_removal_revokes_access_but_keeps_data(demo: DemoStack):
    tenant, dag_id = "acme", "acme__example"
    admin = demo.api(demo.token("platform_admin"))

    _add_tenant(demo, tenant)
    merged = demo.commit(f"add tenant {tenant}")
    seen_import_errors: list[str] = []

    def engineer_sees_the_dag() -> str | None:
        errors = admin.get("/importErrors", params={"limit": 100}).json().get("import_errors", [])
        seen_import_errors.extend(e["stack_trace"][:300] for e in errors if tenant in e["filename"])
        token = demo.token(f"{tenant}_engineer")
        if token is None:
            return None
        return token if demo.api(token).get(f"/dags/{dag_id}").status_code == 200 else None

    token = _until(f"{dag_id} to be visible to {tenant}_engineer", engineer_sees_the_dag, timeout=240,
                   stack=demo)
    live = time.monotonic() - merged
    assert not seen_import_errors, seen_import_errors
    print(f"\nconfig merged -> DAG visible and engineer signed in: {live:.1f}s")  # noqa: T201

    engineer = demo.api(token)
    assert engineer.get("/dags/finance__orders").status_code in (403, 404)  # still only its own tenant
    assert engineer.patch(f"/dags/{dag_id}", json={"is_paused": False}).status_code == 200
    created = engineer.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None})
    assert created.status_code in (200, 201), created.text
    run_id = created.json()["dag_run_id"]

    def finished() -> str | None:
        state = engineer.get(f"/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
        return state if state in ("success", "failed") else None

    assert _until(f"run {run_id} to finish", finished, timeout=300, interval=2, stack=demo) == "success"
    landing = demo.state / "landing" / tenant
    landed = sorted(p for p in landing.rglob("*") if p.is_file())
    assert landed

    shutil.rmtree(demo.repo / "tenant_configs" / tenant)
    (demo.repo / "dags" / "tenants" / f"{tenant}.py").unlink()
    removed = demo.commit(f"offboard tenant {tenant}")

    def access_revoked() -> bool:
        token = demo.token(f"{tenant}_engineer")
        return token is None or demo.api(token).get(f"/dags/{dag_id}").status_code in (401, 403, 404)

    _until(f"{tenant}_engineer to lose access", access_revoked, timeout=120, stack=demo)
    revoked = time.monotonic() - removed
    print(f"config removed -> access revoked: {revoked:.1f}s")  # noqa: T201
    dag = admin.get(f"/dags/{dag_id}")
    assert dag.status_code == 404 or dag.json()["is_paused"] is True, dag.text
    assert sorted(p for p in landing.rglob("*") if p.is_file()) == landed  # the landing zone is kept
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    platform = load_platform(demo.repo / "tenant_configs").config
    catalog = open_catalog("local", platform.catalogs["local"], str(demo.state), tenant_id=tenant)
    table = catalog.load_table(f"{tenant}.example")
    assert table.scan().to_arrow().num_rows == 50  # and so is its table
    retired = _until("the retirement in the audit log", lambda: [
        e for e in admin.get("/eventLogs", params={"event": "tenantflow.tenant.retired"}).json()["event_logs"]
        if tenant in (e.get("extra") or "")], timeout=60, stack=demo)
    assert retired
