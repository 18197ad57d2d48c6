"""What FAB requires for each REST API v2 call, and what a user may therefore do.

A user's permissions come from ``desired_state`` (access_matrix.py + system_roles.py: the
same code ``tenantflow sync`` applies); this module only states FAB's rules: which
(action, resource) pairs an endpoint checks. ``{dag}`` stands for the DAG the call is about.
A requirement is a list of groups; every group needs one of its pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantflow.isolation.access_matrix import CREATE, DELETE, EDIT, READ

Requirement = tuple[frozenset[tuple[str, str]], ...]

_DAG_ACTION = {READ: READ, CREATE: EDIT, EDIT: EDIT, DELETE: EDIT}


def on_dag(action: str) -> Requirement:
    return (frozenset({(action, "DAG:{dag}"), (action, "DAGs")}),)


def on_dag_entity(action: str, *resources: str) -> Requirement:
    """A DAG sub-entity (runs, task instances, logs, XComs): the entity plus read/edit on the DAG."""
    groups = [frozenset({(action, r)}) for r in resources]
    if resources == ("DAG Runs",):  # FAB also honours the per-DAG "DAG Run:<dag>" resource for runs
        groups = [frozenset({(action, "DAG Runs"), (action, "DAG Run:{dag}")})]
    return (*groups, *on_dag(_DAG_ACTION[action]))


def on_resource(action: str, resource: str) -> Requirement:
    return (frozenset({(action, resource)}),)


class Everything:
    """platform_admin copies FAB's Admin role: every permission."""

    def __contains__(self, item: object) -> bool:
        return True


@dataclass(frozen=True)
class Grants:
    perms: frozenset[tuple[str, str]] | Everything
    tenants: frozenset[str] = frozenset()
    """The tenants whose roles the user holds (empty for platform roles)."""

    def allows(self, requirement: Requirement, dag: str | None = None) -> bool:
        return all(
            any((action, resource.format(dag=dag)) in self.perms for action, resource in group)
            for group in requirement
        )


def user_grants(desired, username: str) -> Grants:
    from tenantflow.isolation.system_roles import SYSTEM_ROLES

    copies = {s.name for s in SYSTEM_ROLES if s.copy_of}
    roles = desired.users[username].roles
    tenants = frozenset(t for t in desired.tenants for r in roles if r.startswith(f"{t}_"))
    if roles & copies:
        return Grants(Everything(), tenants)
    return Grants(frozenset().union(*(desired.roles[r] for r in roles)), tenants)
