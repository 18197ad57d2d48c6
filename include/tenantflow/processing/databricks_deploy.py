"""``tenantflow databricks deploy TENANT``: build the tenantflow wheel and put it where the tenant's job clusters
install it from (``databricks.wheel`` in tenant.yaml, a Unity Catalog volume or workspace file path), through
the tenant's own workspace connection ``<tenant>__databricks`` (the Files API), then check it is there.

The wheel is built from the source tree (``pip wheel --no-deps``) or given (``--wheel``, e.g. CI's artifact);
its file name must be the one ``databricks.wheel`` names, since the cluster spec installs exactly that path
(``processing/databricks_spec.py``) and pip reads the version from the name.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from airflow.providers.databricks.hooks.databricks import DatabricksHook

from tenantflow.isolation.guards import require_own_connection

log = logging.getLogger(__name__)


class DeployError(ValueError):
    """The wheel cannot be deployed as configured; the message says what to change."""


class WorkspaceFilesHook(DatabricksHook):
    """A tenant's Databricks workspace, for its Files API (``/api/2.0/fs/files{path}``: volumes, workspace files)."""

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(databricks_conn_id=connection_id, caller="tenantflow databricks deploy", **kwargs)
        self.tenant_id = tenant_id

    def _files_call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests
        from airflow.providers.databricks.hooks.databricks_base import _TokenAuth
        from requests.auth import HTTPBasicAuth

        token = self._get_token()
        auth = _TokenAuth(token) if token else HTTPBasicAuth(self._get_connection_attr("login"),
                                                             self.databricks_conn.password)
        url = self._endpoint_url(f"api/2.0/fs/files{quote(path)}")
        return requests.request(method, url, auth=auth, headers=self.user_agent_header, timeout=self.timeout_seconds,
                                **kwargs, **self._get_requests_kwargs())

    def upload(self, path: str, data: bytes) -> None:
        response = self._files_call("PUT", path, params={"overwrite": "true"}, data=data)
        if response.status_code >= 300:
            raise DeployError(f"uploading {path} to workspace {self.host} failed: HTTP {response.status_code} "
                              f"{response.text[:300]}; the token's principal needs WRITE VOLUME (or workspace "
                              "write access) on that path")

    def size(self, path: str) -> int | None:
        response = self._files_call("HEAD", path)
        return int(response.headers.get("Content-Length", 0)) if response.status_code == 200 else None


def build_wheel(source: Path, out: Path) -> Path:
    """The tenantflow wheel of the source tree ``source`` (its pyproject.toml), built into ``out``."""
    if not (source / "pyproject.toml").is_file():
        raise DeployError(f"{source} has no pyproject.toml: run from the tenantflow source tree (--source) or "
                          "pass a built wheel (--wheel)")
    import shutil

    tree = out / "src"  # a copy of what the build reads: setuptools' build/ and *.egg-info stay out of the checkout
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(source / name, tree / name)
    shutil.copytree(source / "include", tree / "include",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "-w", str(out), str(tree)], capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError(f"building the wheel of {source} failed:\n{done.stderr[-2000:]}")
    [wheel] = sorted(out.glob("tenantflow-*.whl"))
    return wheel


def deploy(tenant: Any, *, wheel: Path | None = None, source: Path | None = None) -> dict[str, Any]:
    """Upload the wheel to ``tenant.databricks.wheel`` through the tenant's connection; returns what was done."""
    from tenantflow.processing import databricks_spec

    cluster = tenant.databricks
    if cluster is None:
        raise DeployError(f"tenant {tenant.id!r} has no `databricks:` settings in its tenant.yaml: nothing runs "
                          "on Databricks, so there is nothing to deploy")
    with tempfile.TemporaryDirectory(prefix="tenantflow-wheel-") as out:
        built = wheel or build_wheel(source or Path.cwd(), Path(out))
        target = cluster.wheel
        if PurePosixPath(target).name != built.name:
            raise DeployError(f"tenant.yaml databricks.wheel is {target!r} but the wheel is {built.name}: the job "
                              f"cluster installs exactly that path, so set databricks.wheel to "
                              f"'{PurePosixPath(target).parent / built.name}' (or deploy the wheel it names)")
        data = built.read_bytes()
        hook = WorkspaceFilesHook(tenant_id=tenant.id, connection_id=databricks_spec.connection_id(tenant.id))
        hook.upload(target, data)
        if hook.size(target) != len(data):
            raise DeployError(f"{target} is not in workspace {hook.host} after the upload (or has another size)")
    log.info("deployed %s (%d bytes) to %s on %s", built.name, len(data), target, hook.host)
    return {"tenant": tenant.id, "wheel": built.name, "bytes": len(data), "path": target, "workspace": hook.host}
