"""A config tree with one small tenant for the doctor tests: tenant.yaml + the pipelines a test needs."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import psycopg2
import yaml

from conftest import REPO
from tenantflow.config.loader import TenantBundle, load_tenant

TENANT = "acme"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def own_database(purpose: str) -> Iterator[str]:
    """A database ``tf_doctor_<purpose>_<pid>`` on this machine's PostgreSQL (user postgres, trust), dropped after."""
    name = f"tf_doctor_{purpose}_{os.getpid()}"
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


class EchoingWorkspace(BaseHTTPRequestHandler):
    """A workspace that refuses the token and quotes it back in its error body (some proxies do)."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's API
        body = json.dumps({"error_code": "PERMISSION_DENIED",
                           "message": f"token {self.headers.get('Authorization')} may not list jobs"}).encode()
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def write_tree(root: Path, pipelines: dict[str, dict[str, Any]], tenant: str = TENANT,
               **tenant_fields: Any) -> Path:
    """``root/tenant_configs`` with the repo's _platform.yaml and tenant ``tenant``; returns the config dir."""
    config_dir = root / "tenant_configs"
    (config_dir / tenant / "pipelines").mkdir(parents=True)
    shutil.copy(REPO / "tenant_configs" / "_platform.yaml", config_dir / "_platform.yaml")
    document = {"display_name": tenant.title(), "owners": [{"name": "Data", "email": f"data@{tenant}.example"}],
                "storage": {"landing": f"landing/{tenant}"}, "catalog": {"namespace": tenant}, **tenant_fields}
    (config_dir / tenant / "tenant.yaml").write_text(yaml.safe_dump(document))
    for pipeline_id, pipeline in pipelines.items():
        body = {"target": {"table": pipeline_id, "mode": "append"}, **pipeline}
        (config_dir / tenant / "pipelines" / f"{pipeline_id}.yaml").write_text(yaml.safe_dump(body))
    return config_dir


def bundle(
    root: Path, pipelines: dict[str, dict[str, Any]], tenant: str = TENANT, **tenant_fields: Any
) -> TenantBundle:
    return load_tenant(write_tree(root, pipelines, tenant, **tenant_fields), tenant)


def sql_source(connection_id: str, table: str = "orders") -> dict[str, Any]:
    return {"source": {"kind": "sql", "connection_id": connection_id, "table": table}}


def http_source(connection_id: str) -> dict[str, Any]:
    return {"source": {"kind": "http", "connection_id": connection_id, "path": "/v1/items"}}


def files_source(path: str, connection_id: str | None = None) -> dict[str, Any]:
    source = {"kind": "files", "path": path, "format": "csv"}
    return {"source": {**source, "connection_id": connection_id} if connection_id else source}


DATABRICKS_CLUSTER = {"cloud": "aws", "spark_version": "15.4.x-scala2.12", "node_type_id": "m6i.xlarge",
                      "autoscale": {"min_workers": 1, "max_workers": 2}, "cost_center": "CC-1",
                      "wheel": "/Volumes/platform/tenantflow/wheels/tenantflow-0.1.0-py3-none-any.whl"}


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
