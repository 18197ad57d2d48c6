"""A real Airflow stack for isolation proofs: its own PostgreSQL database, FAB auth, real components.

Each test module makes a database named ``tf_iso_<purpose>_<pid>`` on this machine's PostgreSQL
(user postgres, trust auth), migrates it, and starts the Airflow components it needs as
subprocesses whose output goes to log files under the module's tmp dir.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg2

from conftest import REPO, run_cli

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
BIN = Path(sys.executable).parent


def fresh_database(purpose: str) -> str:
    """Drop and create ``tf_iso_<purpose>_<pid>``; returns its SQLAlchemy URL."""
    name = f"tf_iso_{purpose}_{os.getpid()}"
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Environment and processes of one Airflow deployment under ``root``."""

    def __init__(self, root: Path, db_url: str, **extra_env: str) -> None:
        self.root = root
        self.db_url = db_url
        self.port = free_port()
        self.logs = root / "component-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        (root / "airflow").mkdir(exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "10000",
            "AIRFLOW__FAB__CACHE_TTL": "0",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "TENANTFLOW_HOME": str(root / "home"),
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def cli(self, *args: str, timeout: int = 600):
        return run_cli(*args, env=self.env, timeout=timeout)

    def migrate_sync_parse(self) -> str:
        """Migrate, ``tenantflow sync --demo-users`` (roles with per-DAG permissions, users), then parse."""
        self.cli("airflow", "db", "migrate")
        out = self.cli("tenantflow", "sync", "--demo-users").stdout
        self.cli("airflow", "dags", "reserialize")
        return out

    def start(self, name: str, *args: str) -> subprocess.Popen:
        handle = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args], env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=self.root,
        )
        return self.procs[name]

    def start_api_server(self, timeout: float = 180) -> str:
        self.start("api-server", "api-server", "--port", str(self.port))
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs["api-server"]
            if proc.poll() is not None:
                raise AssertionError(f"api-server exited {proc.returncode}:\n{self.log_tail('api-server')}")
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise AssertionError(f"api-server not healthy after {timeout:.0f}s:\n{self.log_tail('api-server')}")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def login(base: str, username: str, password: str | None = None) -> httpx.Client:
    """An HTTP client carrying the user's JWT from the FAB auth manager's ``/auth/token``."""
    from tenantflow.isolation.desired import demo_password

    client = httpx.Client(base_url=base, timeout=60)
    response = client.post("/auth/token", json={"username": username,
                                                "password": password or demo_password(username)})
    assert response.status_code in (200, 201), f"login {username}: {response.status_code} {response.text[:300]}"
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client
