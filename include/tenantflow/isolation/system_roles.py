"""Platform-wide roles: Platform Admin, Support User (read-only troubleshooting), Auditor."""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.isolation.access_matrix import MENU, READ

_READ_ALL = frozenset(
    {(READ, r) for r in (
        "Website", "DAGs", "DAG Runs", "Task Instances", "Task Logs", "DAG Code", "DAG Dependencies",
        "DAG Versions", "DAG Warnings", "Assets", "Asset Aliases", "Backfills", "ImportError", "Pools",
        "Plugins", "Cluster Activity", "Jobs", "HITL Detail", "My Profile", "My Password",
    )}
    | {(MENU, r) for r in ("Browse", "DAGs", "DAG Runs", "Assets", "Task Instances", "Docs", "Documentation")}
)

_AUDIT = frozenset(
    {(READ, "Audit Logs"), (MENU, "Audit Logs"), (READ, "Website"), (READ, "DAGs"), (READ, "DAG Runs"),
     (READ, "Task Instances"), (READ, "HITL Detail"), (READ, "ImportError"), (READ, "Pools"), (READ, "Plugins"),
     (READ, "My Profile"), (MENU, "Browse"), (MENU, "DAGs")}
)


@dataclass(frozen=True)
class SystemRole:
    name: str
    title: str
    summary: str
    permissions: frozenset[tuple[str, str]]
    demo_user: str
    copy_of: str | None = None  # take the permissions of this FAB built-in role


SYSTEM_ROLES: tuple[SystemRole, ...] = (
    SystemRole("platform_admin", "Platform Admin", "cross-tenant administration (FAB Admin permissions)",
               frozenset(), "platform_admin", copy_of="Admin"),
    SystemRole("support", "Support User", "read-only across tenants, including logs, for troubleshooting",
               _READ_ALL, "support"),
    SystemRole("auditor", "Auditor", "audit log and read-only DAG/run views", _AUDIT, "auditor"),
)
