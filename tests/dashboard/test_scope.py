"""Which tenants a user sees, from the DAG ids the auth manager lets them read."""

from __future__ import annotations

import pytest

from tenantflow.dashboard.scope import NotPlatformViewer, TenantNotVisible, scope_from_dag_ids


def test_tenants_come_from_readable_tenantflow_dag_ids():
    scope = scope_from_dag_ids("finance_engineer", ["finance__orders", "finance__maintenance", "example_dag"],
                               platform=False)
    assert scope.tenants == {"finance": frozenset({"finance__orders", "finance__maintenance"})}
    assert scope.dag_ids("finance") == {"finance__orders", "finance__maintenance"}


def test_another_tenant_is_refused_with_the_user_and_what_they_see():
    scope = scope_from_dag_ids("finance_engineer", ["finance__orders"], platform=False)
    with pytest.raises(TenantNotVisible, match=r"'finance_engineer' may not see tenant 'retail'.*finance"):
        scope.dag_ids("retail")
    with pytest.raises(NotPlatformViewer, match="finance_engineer"):
        scope.require_platform()


def test_platform_viewer_passes_the_overview_check():
    scope_from_dag_ids("support", ["finance__orders", "retail__sales"], platform=True).require_platform()
