"""``tenantflow new-tenant``: write a valid tenant folder and its DAG entry file."""

from __future__ import annotations

import re
from pathlib import Path

from tenantflow.config.models import SLUG
from tenantflow.settings import Settings

TENANT_TEMPLATE = """\
# yaml-language-server: $schema=../../schemas/tenant.schema.json
display_name: {display_name}
owners:
  - name: {display_name} Data Team
    email: {email}
quotas:
  pool_slots: 2
  max_active_runs: 1
  max_active_tasks: 4
storage:
  landing: landing/{tenant_id}
catalog:
  namespace: {tenant_id}
classification: internal
access:
  admins: []
  engineers: []
  analysts: []
  stewards: []
"""

PIPELINE_TEMPLATE = """\
# yaml-language-server: $schema=../../../schemas/pipeline.schema.json
description: Example pipeline — CSV files dropped under sources/{tenant_id}/example/.
tags: [example]
source:
  kind: files
  path: sources/{tenant_id}/example/*.csv
  format: csv
quality:
  - rule: row_count
    min: 1
target:
  table: example
  mode: append
enabled: false
"""

ENTRY_FILE = '''\
"""Airflow DAG entry file of one tenant; the file name is the tenant id (see tenant_configs/)."""

from tenantflow.factory import tenant_dags

globals().update(tenant_dags(__file__))
'''


def scaffold_tenant(settings: Settings, tenant_id: str, *, display_name: str | None, email: str | None) -> list[Path]:
    if not re.match(SLUG, tenant_id) or "__" in tenant_id:
        raise ValueError(f"tenant id {tenant_id!r} must be a lowercase slug (a-z, 0-9, '_'; 3-32 chars)")
    folder = settings.config_dir / tenant_id
    entry = settings.dags_dir / f"{tenant_id}.py"
    if folder.exists():
        raise FileExistsError(f"{folder} already exists")
    values = {
        "tenant_id": tenant_id,
        "display_name": display_name or tenant_id.replace("_", " ").title(),
        "email": email or f"{tenant_id.replace('_', '-')}-data@example.com",
    }
    (folder / "pipelines").mkdir(parents=True)
    written = [folder / "tenant.yaml", folder / "pipelines" / "example.yaml"]
    written[0].write_text(TENANT_TEMPLATE.format(**values))
    written[1].write_text(PIPELINE_TEMPLATE.format(**values))
    if not entry.exists():
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(ENTRY_FILE)
        written.append(entry)
    return written
