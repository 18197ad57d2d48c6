"""`make demo` end to end: real api-server, scheduler, dag-processor and triggerer with FAB RBAC.

The launcher's --check logs in as the finance Data Engineer over the REST API, asserts that
only finance DAGs are visible (retail is 403), triggers a finance pipeline under the real
scheduler (tenant pool honoured) and compares the Iceberg table with the source.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_tenant_scoped_ui_and_loads_a_triggered_run(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TENANTFLOW_HOME"))}
    result = subprocess.run(
        [sys.executable, "-m", "demo.launcher", "--check", "--scale", "0.02",
         "--state", str(tmp_path / "state"), "--port", str(_free_port())],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "finance_engineer sees only finance DAGs" in output
    assert "smoke check passed" in output and "'foreign_status': 403" in output
    assert "finance_engineer       finance_engineer-demo" in output  # the printed logins
