"""What the platform remembers of every tenant it applied: where its data lives, so that removing the
tenant's config never loses track of its landing zone, namespace and tables.

Kept as Airflow Variables ``tenantflow.tenant.<id>`` in the metadata DB (read and written through the ORM, so
a secrets backend's variables never shadow them): the reconcile loop runs next to the dag-processor, the
purge anywhere with metadata DB access, and both must see the same record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantflow import naming
from tenantflow.config.loader import TenantBundle
from tenantflow.settings import resolve_local

KEY_PREFIX = "tenantflow.tenant."


@dataclass(frozen=True)
class TenantRecord:
    tenant_id: str
    display_name: str
    landing: str
    """The landing location as the platform resolved it (s3:// URI or an absolute local path)."""
    catalog: str
    namespace: str
    tables: tuple[str, ...] = ()
    dag_ids: tuple[str, ...] = ()
    kms_key_id: str | None = None
    retired_at: str | None = None
    """When the tenant's config disappeared (its DAGs were paused, its pools and roles removed)."""

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "tables": list(self.tables), "dag_ids": list(self.dag_ids)},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TenantRecord:
        data = {k: v for k, v in json.loads(text).items() if k in cls.__dataclass_fields__}
        return cls(**{**data, "tables": tuple(data.get("tables", ())), "dag_ids": tuple(data.get("dag_ids", ()))})

    def retired(self, when: datetime | None = None) -> TenantRecord:
        return replace(self, retired_at=(when or datetime.now(UTC)).isoformat(timespec="seconds"))


def record_of(bundle: TenantBundle, home: Path) -> TenantRecord:
    tenant = bundle.tenant
    pipelines = [p.id for p in bundle.pipelines]
    return TenantRecord(
        tenant_id=tenant.id,
        display_name=tenant.display_name,
        landing=resolve_local(tenant.storage.landing, home),
        catalog=tenant.catalog.name,
        namespace=tenant.catalog.namespace,
        tables=tuple(sorted({p.target.table for p in bundle.pipelines})),
        dag_ids=tuple(naming.tenant_dag_ids(tenant.id, pipelines)),
        kms_key_id=tenant.storage.kms_key_id,
    )


def read_records(session: Any) -> dict[str, TenantRecord]:
    from airflow.models.variable import Variable

    rows = session.query(Variable).filter(Variable.key.startswith(KEY_PREFIX, autoescape=True)).all()
    return {row.key.removeprefix(KEY_PREFIX): TenantRecord.from_json(row.val) for row in rows}


def write_record(session: Any, record: TenantRecord) -> None:
    from airflow.models.variable import Variable

    key = KEY_PREFIX + record.tenant_id
    row = session.query(Variable).filter(Variable.key == key).one_or_none()
    description = f"tenantflow: what tenant {record.tenant_id} has on the platform (written by reconcile)"
    if row is None:
        session.add(Variable(key=key, val=record.to_json(), description=description))
    elif row.val != record.to_json():
        row.set_val(record.to_json())


def delete_record(session: Any, tenant_id: str) -> None:
    from airflow.models.variable import Variable

    session.query(Variable).filter(Variable.key == KEY_PREFIX + tenant_id).delete()
