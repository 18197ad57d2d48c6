"""The one access matrix: which tenant role may do what.

``tenantflow sync`` (and the reconcile loop) grant every per-DAG permission from here, and so
is the table in docs/access-matrix.md (``tenantflow roles --markdown``).

FAB checks a DAG sub-entity (runs, task instances, logs, XComs) by a *global* permission
on the entity AND a *per-DAG* permission on the DAG itself. Tenant roles therefore get
per-DAG permissions only on their own DAGs and never the global ``DAGs`` resource, so
global entity permissions cannot reach another tenant's DAGs.

Pools, assets, connections and variables have no per-tenant permission in FAB (one global
resource each), so tenant roles get none of them: a tenant role that could read ``Pools``
or ``Assets`` would read every tenant's. Platform roles (system_roles.py) read them.
"""

from __future__ import annotations

from dataclasses import dataclass

READ, EDIT, CREATE, DELETE, MENU = "can_read", "can_edit", "can_create", "can_delete", "menu_access"

# Everything a signed-in tenant user needs to use the UI at all.
_BASE: frozenset[tuple[str, str]] = frozenset(
    {
        (READ, "Website"),
        (READ, "My Password"),
        (EDIT, "My Password"),
        (READ, "My Profile"),
        (EDIT, "My Profile"),
        (READ, "DAG Dependencies"),
        (READ, "DAG Versions"),
        (READ, "DAG Warnings"),
        (READ, "Backfills"),
        (READ, "ImportError"),  # FAB filters import errors to files of DAGs the user may read
        (READ, "Plugins"),
        (READ, "Jobs"),
        (READ, "HITL Detail"),  # the UI's DAG list asks for it (required actions)
        (READ, "Cluster Activity"),
        (MENU, "Browse"),
        (MENU, "DAGs"),
        (MENU, "DAG Runs"),
        (MENU, "Docs"),
        (MENU, "Documentation"),
        (MENU, "Task Instances"),
    }
)

_READ_RUNS = frozenset({(READ, "DAG Runs"), (READ, "Task Instances"), (READ, "DAG Code")})
_LOGS = frozenset({(READ, "Task Logs")})
_XCOM = frozenset({(READ, "XComs")})
_OPERATE = frozenset(
    {
        (CREATE, "DAG Runs"),
        (EDIT, "DAG Runs"),
        (CREATE, "Task Instances"),
        (EDIT, "Task Instances"),
        (DELETE, "Task Instances"),
    }
)


@dataclass(frozen=True)
class TenantRole:
    key: str
    title: str
    summary: str
    global_permissions: frozenset[tuple[str, str]]
    dag_actions: frozenset[str]
    dag_run_actions: frozenset[str]


TENANT_ROLES: tuple[TenantRole, ...] = (
    TenantRole(
        "admin", "Tenant Admin", "everything on the tenant's DAGs and runs",
        _BASE | _READ_RUNS | _LOGS | _XCOM | _OPERATE | {(DELETE, "DAG Runs")},
        frozenset({READ, EDIT, DELETE}), frozenset({READ, CREATE, DELETE, MENU}),
    ),
    TenantRole(
        "engineer", "Data Engineer", "trigger, clear, pause, logs, XCom",
        _BASE | _READ_RUNS | _LOGS | _XCOM | _OPERATE,
        frozenset({READ, EDIT}), frozenset({READ, CREATE, MENU}),
    ),
    TenantRole(
        "analyst", "Data Analyst", "read DAGs and runs; no logs or XCom",
        _BASE | _READ_RUNS,
        frozenset({READ}), frozenset({READ, MENU}),
    ),
    TenantRole(
        "steward", "Data Steward", "read DAGs, runs and task logs (quality results)",
        _BASE | _READ_RUNS | _LOGS,
        frozenset({READ}), frozenset({READ, MENU}),
    ),
)

ACCESS_FIELDS = {"admin": "admins", "engineer": "engineers", "analyst": "analysts", "steward": "stewards"}


def role_name(tenant_id: str, role: TenantRole | str) -> str:
    key = role.key if isinstance(role, TenantRole) else role
    return f"{tenant_id}_{key}"


def role_permissions(tenant_id: str, role: TenantRole, dag_ids: list[str]) -> set[tuple[str, str]]:
    """Every (action, resource) a tenant role must hold, given the tenant's DAG ids."""
    perms = set(role.global_permissions)
    for dag in dag_ids:
        perms.update((action, f"DAG:{dag}") for action in role.dag_actions)
        perms.update((action, f"DAG Run:{dag}") for action in role.dag_run_actions)
    return perms


def markdown_table() -> str:
    rows = ["| Role | FAB role name | Grants | DAG actions | DAG run actions |", "|---|---|---|---|---|"]
    for role in TENANT_ROLES:
        rows.append(
            f"| {role.title} | `<tenant>_{role.key}` | {role.summary} | "
            f"{', '.join(sorted(role.dag_actions))} | {', '.join(sorted(role.dag_run_actions))} |"
        )
    return "\n".join(rows)


# The tenants' audit trails (``tenantflow audit``, the dashboard's ``/api/tenants/<t>/audit``) are not Airflow
# resources, so FAB has no permission for them: the rule lives here, next to the roles it names.
AUDIT_PLATFORM_ROLES = ("auditor", "platform_admin")
AUDIT_TENANT_ROLE = "admin"


def audit_reader_roles(tenant_id: str) -> frozenset[str]:
    """The roles that may read ``tenant_id``'s audit trail: the Auditor, the Platform Admin, the tenant's admin."""
    return frozenset({*AUDIT_PLATFORM_ROLES, role_name(tenant_id, AUDIT_TENANT_ROLE)})


def may_read_audit(tenant_id: str, roles: set[str] | frozenset[str]) -> bool:
    return bool(audit_reader_roles(tenant_id) & set(roles))


def audit_markdown() -> str:
    return (f"**Audit trail** (`tenantflow audit`, dashboard `GET /api/tenants/<tenant>/audit`): readable by "
            f"{', '.join(f'`{r}`' for r in AUDIT_PLATFORM_ROLES)} for every tenant and by "
            f"`<tenant>_{AUDIT_TENANT_ROLE}` for its own tenant only; no other role, never another tenant's.")
