"""The platform's settings: Airflow's ``[tenantflow]`` config section, read here and nowhere else.

Set them like any Airflow option — in ``airflow.cfg``::

    [tenantflow]
    config_dir = /opt/airflow/repo/tenant_configs
    home = /opt/airflow/tenantflow

or as ``AIRFLOW__TENANTFLOW__CONFIG_DIR=...`` in the environment (Helm ``env:``, docker ``-e``).
The names of the first releases (``TENANTFLOW_CONFIG_DIR``, ``TENANTFLOW_HOME``, ...) are still read
when the Airflow option is unset, so existing deployments keep working. Where Airflow is not
installed (the tenantflow job on a Databricks cluster) only the environment is read.

========================  =================================================  ===========================
option                    what                                               default
========================  =================================================  ===========================
config_dir                the ``tenant_configs`` tree                        ``<repo>/tenant_configs``
home                      local state: landing, warehouse, SQLite catalog    ``<repo>/.tenantflow``
dags_dir                  where the per-tenant DAG entry files live          ``<repo>/dags/tenants``
kubernetes_pod_templates  folder of the tenants' pod templates             unset: tasks run on the
                          (``<tenant>.yaml``, ``tenantflow k8s``); set:      default executor
                          every tenant task runs on the KubernetesExecutor
                          in its tenant's namespace
========================  =================================================  ===========================

``tenant_aws_identity = required`` (default ``fallback``): a tenant's task whose ``<tenant>__aws`` connection
does not exist fails, instead of using the environment's (shared) AWS credentials (``tenantflow.identity``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

SECTION = "tenantflow"
REPO_ROOT_MARKERS = ("tenant_configs",)


def setting(key: str, fallback: str | None = None) -> str | None:
    """``[tenantflow] <key>`` (airflow.cfg or ``AIRFLOW__TENANTFLOW__<KEY>``), else ``TENANTFLOW_<KEY>``."""
    value = _airflow_option(key)
    if value in (None, ""):
        value = os.environ.get(f"TENANTFLOW_{key.upper()}")
    return fallback if value in (None, "") else value


def _airflow_option(key: str) -> str | None:
    name = f"AIRFLOW__{SECTION.upper()}__{key.upper()}"
    # every tenant's DAG file reads the same options at parse time; airflow.cfg is read once per process,
    # so a lookup only changes with the environment variables Airflow consults for it
    return _cached_option(key, *(os.environ.get(name + suffix) for suffix in ("", "_CMD", "_SECRET")))


@functools.lru_cache(maxsize=256)
def _cached_option(key: str, env_value: str | None, *_commands: str | None) -> str | None:
    try:
        from airflow.configuration import conf
    except ImportError:  # a Databricks job: no Airflow, so no airflow.cfg either
        return env_value
    value: str | None = conf.get(SECTION, key, fallback=None)
    return value


def job_environment(name: str) -> str | None:
    """A variable of the environment a job runs in (e.g. ``DATABRICKS_HOST`` on a Databricks cluster):
    not a tenantflow setting, but read here so the package reads its environment in one place."""
    return os.environ.get(name) or None


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    """The tenant_configs tree (``[tenantflow] config_dir``)."""
    home: Path
    """Local state: landing, warehouse, SQLite catalog (``[tenantflow] home``)."""
    dags_dir: Path
    """Where the per-tenant DAG entry files live (``[tenantflow] dags_dir``)."""
    kubernetes_pod_templates: Path | None = None
    """The tenants' KubernetesExecutor pod templates (``[tenantflow] kubernetes_pod_templates``); None: unset."""


def get_settings(anchor: str | Path | None = None, *, cached: bool = True) -> Settings:
    """The platform's paths; ``anchor`` (a DAG file) locates the repo when they are unset.

    Paths are resolved (symlinks followed); ``cached=False`` resolves them again, for a long-running process
    whose config tree is a git-sync checkout behind a symlink that is swapped on every sync."""
    folder = os.path.dirname(os.path.abspath(anchor)) if anchor else os.getcwd()
    values = tuple(setting(key) for key in ("config_dir", "home", "dags_dir", "kubernetes_pod_templates"))
    return (_settings if cached else _settings.__wrapped__)(folder, bool(anchor), values)


@functools.lru_cache(maxsize=64)
def _settings(folder: str, anchored: bool, values: tuple[str | None, ...]) -> Settings:
    # every tenant's DAG file asks for the same settings at parse time: resolve paths once
    config_value, home_value, dags_value, pod_templates_value = values
    base = Path(folder).resolve().parents[1] if anchored else Path(folder)
    config_dir = Path(config_value or base / "tenant_configs").resolve()
    home = Path(home_value or config_dir.parent / ".tenantflow").resolve()
    dags_dir = Path(dags_value or config_dir.parent / "dags" / "tenants").resolve()
    # as configured, not resolved: the scheduler reads the files, and its filesystem is not this process's
    pod_templates = Path(pod_templates_value) if pod_templates_value else None
    return Settings(config_dir=config_dir, home=home, dags_dir=dags_dir, kubernetes_pod_templates=pod_templates)


def resolve_local(location: str, home: Path) -> str:
    """A local location relative to ``home`` becomes absolute; URIs are returned unchanged."""
    if "://" in location or os.path.isabs(location):
        return location
    return str(home / location)
