"""Where the platform finds its configs and keeps local state (environment, not YAML)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT_MARKERS = ("tenant_configs",)


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    """The tenant_configs tree (TENANTFLOW_CONFIG_DIR)."""
    home: Path
    """Local state: landing, warehouse, SQLite catalog (TENANTFLOW_HOME)."""
    dags_dir: Path
    """Where the per-tenant DAG entry files live (TENANTFLOW_DAGS_DIR)."""


def get_settings(anchor: str | Path | None = None) -> Settings:
    """Read settings from the environment; ``anchor`` (a DAG file) locates the repo when unset."""
    folder = os.path.dirname(os.path.abspath(anchor)) if anchor else os.getcwd()
    names = ("TENANTFLOW_CONFIG_DIR", "TENANTFLOW_HOME", "TENANTFLOW_DAGS_DIR")
    return _settings(folder, bool(anchor), tuple(os.environ.get(n) for n in names))


@functools.lru_cache(maxsize=64)
def _settings(folder: str, anchored: bool, env: tuple[str | None, ...]) -> Settings:
    # every tenant's DAG file asks for the same settings at parse time: resolve paths once
    config_env, home_env, dags_env = env
    base = Path(folder).resolve().parents[1] if anchored else Path(folder)
    config_dir = Path(config_env or base / "tenant_configs").resolve()
    home = Path(home_env or config_dir.parent / ".tenantflow").resolve()
    dags_dir = Path(dags_env or config_dir.parent / "dags" / "tenants").resolve()
    return Settings(config_dir=config_dir, home=home, dags_dir=dags_dir)


def resolve_local(location: str, home: Path) -> str:
    """A local location relative to TENANTFLOW_HOME becomes absolute; URIs are returned unchanged."""
    if "://" in location or os.path.isabs(location):
        return location
    return str(home / location)
