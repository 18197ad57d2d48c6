"""`tenantflow databricks deploy TENANT` against a local workspace stand-in (Files API): the wheel built from this
source tree lands at tenant.yaml's databricks.wheel through the tenant's own connection, the path the job
cluster installs; a wheel whose name the config does not name, or a tenant without Databricks, is refused
with what to change, and nothing is uploaded."""

from __future__ import annotations

import zipfile

import pytest

from conftest import REPO, run_cli
from demo.jobs_api import LocalJobsApi

WHEEL_PATH = "/Volumes/platform/tenantflow/wheels/tenantflow-0.1.0-py3-none-any.whl"


@pytest.fixture
def workspace():
    with LocalJobsApi() as api:
        yield api


def deploy(workspace, *args: str, check: bool = True):
    env = {"AIRFLOW_CONN_HEALTHCARE__DATABRICKS": workspace.connection_uri_json("token-healthcare")}
    return run_cli("tenantflow", "databricks", "deploy", *args, env=env, check=check)


def test_the_built_wheel_lands_where_the_cluster_installs_it(workspace, tmp_path):
    result = deploy(workspace, "healthcare", "--source", str(REPO))
    assert f"to {WHEEL_PATH} on" in result.stdout, result.stdout + result.stderr
    data = workspace.files[WHEEL_PATH]
    wheel = tmp_path / "uploaded.whl"
    wheel.write_bytes(data)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "tenantflow/processing/spark_engine.py" in names and "tenantflow/processing/databricks_job.py" in names
    assert "tenantflow-databricks-job = tenantflow.processing.databricks_job:main" in entry_points
    assert not any(n.startswith("demo/") for n in names)
    uploads = [r for r in workspace.requests if r.method == "PUT"]
    assert [r.headers.get("Authorization") for r in uploads] == ["Bearer token-healthcare"]


def test_a_wheel_the_config_does_not_name_is_refused_and_nothing_uploaded(workspace, tmp_path):
    other = tmp_path / "tenantflow-0.2.0-py3-none-any.whl"
    other.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    result = deploy(workspace, "healthcare", "--wheel", str(other), check=False)
    assert result.returncode == 1
    assert ("databricks.wheel is '/Volumes/platform/tenantflow/wheels/tenantflow-0.1.0-py3-none-any.whl' but the "
            "wheel is tenantflow-0.2.0-py3-none-any.whl") in result.stderr
    assert "set databricks.wheel to '/Volumes/platform/tenantflow/wheels/tenantflow-0.2.0-py3-none-any.whl'" \
        in result.stderr
    assert workspace.files == {}


def test_a_tenant_without_databricks_has_nothing_to_deploy(workspace, tmp_path):
    result = deploy(workspace, "retail", "--wheel", str(tmp_path / "x.whl"), check=False)
    assert result.returncode == 1 and "tenant 'retail' has no `databricks:` settings" in result.stderr
    assert workspace.files == {}


def test_the_workspace_refusing_the_upload_says_which_permission_is_missing(workspace, tmp_path):
    wheel = tmp_path / "tenantflow-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    workspace.refuse_uploads = True
    result = deploy(workspace, "healthcare", "--wheel", str(wheel), check=False)
    assert result.returncode == 1 and "HTTP 403" in result.stderr and "WRITE VOLUME" in result.stderr
    assert workspace.files == {}
