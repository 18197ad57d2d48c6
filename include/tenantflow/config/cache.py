"""A parse cache of validated tenant configs, so a steady-state DAG parse skips YAML.

Airflow re-parses every DAG file every few seconds in a fresh process. When none of a
tenant's inputs changed (platform file, tenant.yaml, pipeline files, the set of tenant
ids, the tenantflow version), the tenant's configs are read back from one JSON file and
validated again by pydantic: JSON, not pickle, so a cache file can never run code, and a
cache written by another version that no longer validates is simply a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tenantflow

log = logging.getLogger(__name__)


def cache_key(files: Sequence[Path], tenant_ids: Sequence[str]) -> str:
    digest = hashlib.sha256(tenantflow.__version__.encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    digest.update("\0".join(tenant_ids).encode())
    return digest.hexdigest()


def read(directory: Path, tenant_id: str, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / f"{tenant_id}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def write(directory: Path, tenant_id: str, payload: dict[str, Any]) -> None:
    """Atomic write; an unwritable cache folder only costs speed."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{tenant_id}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(payload, separators=(",", ":")))  # json.dumps uses the C encoder
        os.replace(tmp, directory / f"{tenant_id}.json")
    except OSError as exc:
        log.debug("config cache not written for %s: %s", tenant_id, exc)
