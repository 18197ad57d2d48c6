"""Every permission tenantflow grants names a resource and action FAB actually checks."""

from __future__ import annotations

import warnings

import pytest

from tenantflow.isolation.access_matrix import TENANT_ROLES, role_permissions
from tenantflow.isolation.system_roles import SYSTEM_ROLES


@pytest.fixture(scope="module")
def fab_permissions() -> set[tuple[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from airflow.providers.fab.auth_manager.security_manager.override import (
            FabAirflowSecurityManagerOverride as Fab,
        )
    return {*Fab.VIEWER_PERMISSIONS, *Fab.USER_PERMISSIONS, *Fab.OP_PERMISSIONS, *Fab.ADMIN_PERMISSIONS}


@pytest.mark.parametrize("role", TENANT_ROLES, ids=lambda r: r.key)
def test_tenant_role_grants_only_known_permissions(role, fab_permissions):
    granted = role_permissions("finance", role, ["finance__orders"])
    unknown = {p for p in granted if p not in fab_permissions and not p[1].startswith(("DAG:", "DAG Run:"))}
    assert unknown == set(), f"{role.key} grants permissions FAB never checks (typo?): {sorted(unknown)}"


@pytest.mark.parametrize("role", [r for r in SYSTEM_ROLES if not r.copy_of], ids=lambda r: r.name)
def test_system_role_grants_only_known_permissions(role, fab_permissions):
    assert role.permissions - fab_permissions == set()


def test_ui_dag_list_needs_are_met():
    """The UI's DAG list (/ui/dags) checks runs, task instances and HITL details besides the DAG."""
    for role in TENANT_ROLES:
        perms = role.global_permissions
        for resource in ("DAG Runs", "Task Instances", "HITL Detail", "Website"):
            assert ("can_read", resource) in perms, (role.key, resource)
