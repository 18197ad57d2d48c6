"""One audit record, its actor and its identity (the dedupe key).

A record says who (``actor``), when (``at``, UTC), what (``action`` on ``target``) and in which run
(``run_id``, plus the Iceberg ``snapshot_id`` of a commit). ``details`` hold counts, rule, column and
method names: never a data value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantflow import naming
from tenantflow.settings import job_environment

AUDIT_NAMESPACE = naming.AUDIT_NAMESPACE
"""The platform's namespace of audit tables, one per tenant (table = tenant id); no tenant owns it: a tenant id
for which ``naming.owns_namespace`` would hold is refused by the config (``naming.reserved_tenant_id``)."""
PLATFORM_LOCATION = "_platform"
"""What ``{tenant}`` of the catalog's warehouse becomes for audit tables: no tenant id starts with '_'."""

SCHEDULER = "platform:scheduler"
MAINTENANCE = "platform:maintenance"
RECONCILE = "platform:reconcile"

LOAD = "load"
QUARANTINE = "quarantine"
PII_MASKING = "pii.masking"
MAINTENANCE_RUN = "maintenance"
RETENTION_DELETE = "retention.delete"
OFFBOARD_PURGE = "offboard.purge"
SYNC_PREFIX = "sync."  # sync.create_role, sync.grant, sync.create_user, sync.update_pool, ...
ACTIONS = (LOAD, QUARANTINE, PII_MASKING, MAINTENANCE_RUN, RETENTION_DELETE, OFFBOARD_PURGE, "sync.*")


def audit_identifier(tenant_id: str) -> str:
    return naming.table_identifier(AUDIT_NAMESPACE, tenant_id)


def run_actor(context: Mapping[str, Any]) -> str:
    """The Airflow user who triggered the run (Airflow 3: ``triggering_user_name``), else the scheduler
    (scheduled and asset-triggered runs have none)."""
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None) if dag_run is not None else None
    return str(user) if user else SCHEDULER


def cli_actor(operator: str | None) -> str:
    """``cli:<name>``: ``--operator`` if given, else the login running the command."""
    name = operator or job_environment("USER") or job_environment("LOGNAME") or "unknown"
    return name if name.startswith("cli:") else f"cli:{name}"


@dataclass(frozen=True)
class AuditRecord:
    tenant: str
    at: dt.datetime
    actor: str
    action: str
    target: str
    run_id: str | None = None
    snapshot_id: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("audit record time must be timezone-aware (UTC)")
        object.__setattr__(self, "at", self.at.astimezone(dt.UTC))
        json.dumps(self.details)  # details must be JSON (counts and names): fail at the producer, not the writer

    @property
    def event_id(self) -> str:
        """Dedupe key: (tenant, run id, action, target, snapshot id). A retried task records the same event once."""
        key = json.dumps([self.tenant, self.run_id, self.action, self.target, self.snapshot_id])
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def details_json(self) -> str:
        return json.dumps(self.details, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """The record ``as_dict`` gave (the API's answer to the CLI's remote mode)."""
        return cls(tenant=data["tenant"], at=dt.datetime.fromisoformat(data["at"]), actor=data["actor"],
                   action=data["action"], target=data["target"], run_id=data.get("run_id"),
                   snapshot_id=data.get("snapshot_id"), details=data.get("details") or {})

    def as_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "run_id": self.run_id, "snapshot_id": self.snapshot_id,
                "details": dict(self.details), "event_id": self.event_id}
