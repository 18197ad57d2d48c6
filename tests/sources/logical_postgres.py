"""A throw-away PostgreSQL cluster with ``wal_level=logical`` for the CDC tests (never the shared :5432).

``initdb`` + ``pg_ctl`` of the installed PostgreSQL, in a temporary directory, on a free port, as the
``postgres`` OS user when the tests run as root (PostgreSQL refuses to run as root); trust auth on
127.0.0.1 only. Stopped (``pg_ctl stop -m immediate``) and removed at the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no PostgreSQL {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass(frozen=True)
class LogicalCluster:
    port: int
    data: Path
    user: str = "postgres"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname}"

    def uri(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", autocommit: bool = True):
        import psycopg2

        conn = psycopg2.connect(self.dsn(dbname))
        conn.autocommit = autocommit
        return conn

    def create_database(self, name: str) -> str:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name


@contextmanager
def logical_cluster():
    root = Path(tempfile.mkdtemp(prefix="tf-cdc-pg-"))
    os.chmod(root, 0o777)
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    subprocess.run(_as_postgres([_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync",
                                 "-E", "UTF8"]), check=True, capture_output=True)
    settings = {"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20",
                "listen_addresses": "'127.0.0.1'", "port": str(port), "unix_socket_directories": f"'{root}'",
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "wal_sender_timeout": "60s", "shared_buffers": "32MB", "max_connections": "60"}
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    log = root / "server.log"
    subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True)
    cluster = LogicalCluster(port, data)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                cluster.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield cluster
    finally:
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


PAYMENTS_DDL = """
CREATE TABLE public.payments (
    payment_id bigint PRIMARY KEY,
    account text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    status text NOT NULL,
    memo text,
    paid_at timestamptz NOT NULL DEFAULT now()
);
CREATE PUBLICATION finance_payments FOR TABLE public.payments;
"""


def payments_database(cluster: LogicalCluster, name: str) -> str:
    """A database with the example's ``public.payments`` table and its publication; the tenant's connection
    ``finance__payments_pg`` (an Airflow connection in the environment) points at it."""
    import json

    cluster.create_database(name)
    conn = cluster.connect(name)
    try:
        with conn.cursor() as cur:
            cur.execute(PAYMENTS_DDL)
    finally:
        conn.close()
    os.environ["AIRFLOW_CONN_FINANCE__PAYMENTS_PG"] = json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": cluster.port, "login": cluster.user, "schema": name})
    return name


def payments_context(repo: Path, home: Path, slot: str, **source_changes):
    """The finance ``payments`` example pipeline on its own slot, with its table under ``home``."""
    from tenantflow.config.loader import load_tenant
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(repo / "tenant_configs", "finance")
    pipeline = bundle.pipeline("payments")
    source = pipeline.source.model_copy(update={"slot": slot, **source_changes})
    pipeline = pipeline.model_copy(update={"source": source, "pii": None})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(home))
