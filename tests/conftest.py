"""Test environment: an isolated AIRFLOW_HOME / TENANTFLOW_HOME per test session.

Environment variables are set at import time, before anything imports Airflow (whose
configuration is read once, at first import).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="tenantflow-tests-"))
AIRFLOW_HOME = SESSION_DIR / "airflow"
TENANTFLOW_HOME = SESSION_DIR / "home"
AIRFLOW_HOME.mkdir()
TENANTFLOW_HOME.mkdir()

TEST_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "TENANTFLOW_HOME": str(TENANTFLOW_HOME),
    "TENANTFLOW_CONFIG_DIR": str(REPO / "tenant_configs"),
    "TENANTFLOW_DAGS_DIR": str(REPO / "dags" / "tenants"),
    "GX_ANALYTICS_ENABLED": "False",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
os.environ.update(TEST_ENV)

BIN = Path(sys.executable).parent


def run_cli(*args: str, env: dict[str, str] | None = None, check: bool = True, timeout: int = 600):
    """Run a console script of this venv (airflow, tenantflow) with the test environment."""
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout[-4000:]}\n"
            f"stderr:\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(autouse=True)
def _acting_as_the_platform():
    """Each test starts acting as the platform: a stage's pre_execute run in-process (as a task process would)
    sets the process's cloud identity to its tenant, which must not leak into the next test."""
    from tenantflow import identity

    identity.act_for(None)
    yield
    identity.act_for(None)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite) for this test session."""
    run_cli("airflow", "db", "migrate")
    return AIRFLOW_HOME / "airflow.db"


@pytest.fixture(scope="session")
def demo_sources() -> dict[str, int]:
    """Demo source data (5% scale) under TENANTFLOW_HOME, plus the connections that point at it."""
    from demo.data import generate_demo_data

    counts = generate_demo_data(TENANTFLOW_HOME, scale=0.05)
    sources = TENANTFLOW_HOME / "sources"
    os.environ["AIRFLOW_CONN_FINANCE__ERP"] = (
        f'{{"conn_type": "sqlite", "host": "{sources / "finance" / "erp.db"}"}}'
    )
    os.environ["AIRFLOW_CONN_HEALTHCARE__CLINIC"] = (
        f'{{"conn_type": "sqlite", "host": "{sources / "healthcare" / "clinic.db"}"}}'
    )
    os.environ["AIRFLOW_CONN_FINANCE__PII"] = '{"conn_type": "generic", "password": "finance-test-hmac-key-0123456789"}'
    return counts


def copy_config_tree(root: Path) -> Path:
    """A writable copy of the example tenant configs and DAG entry files: <root>/tenant_configs, <root>/dags."""
    shutil.copytree(REPO / "tenant_configs", root / "tenant_configs")
    shutil.copytree(REPO / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def config_tree(tmp_path: Path) -> Path:
    return copy_config_tree(tmp_path)


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server (S3, KMS, Secrets Manager, Glue…) for the session; tests use their own buckets/names."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def spark():
    """One local Spark (2 cores) for the session, as the Spark engine finds it on a cluster: the active session."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("tenantflow-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "1g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def gcs_endpoint():
    """One in-memory GCS emulator for the session (gs:// files sources); tests use their own buckets."""
    from cloud_emulators import gcs_emulator

    with gcs_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def azurite_endpoint():
    """One azurite (Azure Blob) for the session, installed from npm on first use; fails if it cannot run."""
    from cloud_emulators import azurite

    with azurite() as endpoint:
        yield endpoint
