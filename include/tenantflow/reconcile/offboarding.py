"""A tenant whose config is gone: its DAGs are paused at once (the dag-processor drops them from the DAG list
when their file no longer yields them), its pools and roles are pruned by the isolation sync, and its data —
landing zone, namespace, tables — is kept and listed until an explicit purge (``reconcile/purge.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tenantflow.reconcile.records import TenantRecord, write_record

AUDIT_RETIRED = "tenantflow.tenant.retired"
AUDIT_PURGED = "tenantflow.tenant.purged"


@dataclass(frozen=True)
class Retirement:
    record: TenantRecord
    paused: tuple[str, ...]

    def __str__(self) -> str:
        r = self.record
        return (f"retire tenant {r.tenant_id}: paused {len(self.paused)} DAG(s); kept landing {r.landing}, "
                f"namespace {r.catalog}:{r.namespace} ({len(r.tables)} table(s)) until "
                f"`tenantflow offboard --purge {r.tenant_id} --confirm {r.tenant_id}`")


def to_retire(records: Mapping[str, TenantRecord], present: Iterable[str]) -> list[TenantRecord]:
    """Tenants the platform applied whose folder is gone (an invalid folder is still present: never retired)."""
    here = set(present)
    return [r for tenant_id, r in sorted(records.items()) if tenant_id not in here and r.retired_at is None]


def tenant_dag_filter(model: Any, tenant_id: str) -> Any:
    # a tenant id never contains "__", so "<tenant>__" prefixes exactly that tenant's DAG ids
    return model.dag_id.startswith(f"{tenant_id}__", autoescape=True)


def pause_tenant_dags(session: Any, tenant_id: str) -> tuple[str, ...]:
    from airflow.models.dag import DagModel

    dags = session.query(DagModel).filter(tenant_dag_filter(DagModel, tenant_id)).all()
    for dag in dags:
        dag.is_paused = True
    return tuple(sorted(d.dag_id for d in dags))


def retire(session: Any, record: TenantRecord) -> Retirement:
    paused = pause_tenant_dags(session, record.tenant_id)
    retired = record.retired()
    write_record(session, retired)
    audit(session, AUDIT_RETIRED, {"tenant": record.tenant_id, "paused_dags": list(paused),
                                   "kept": {"landing": retired.landing, "catalog": retired.catalog,
                                            "namespace": retired.namespace, "tables": list(retired.tables)}})
    return Retirement(retired, paused)


def audit(session: Any, event: str, extra: dict[str, Any], owner: str = "tenantflow") -> None:
    """An entry of Airflow's audit log (Browse → Audit Log; ``GET /api/v2/eventLogs``)."""
    from airflow.models.log import Log

    session.add(Log(event=event, owner=owner, extra=json.dumps(extra, sort_keys=True)))
