"""helm-values/webserver_config.py maps IdP groups to tenant roles by pattern, so a tenant merged after the
api-server started signs in without a restart; only the system groups are listed."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def webserver_config(tmp_path_factory: pytest.TempPathFactory):
    secret = tmp_path_factory.mktemp("oidc") / "client_secret"
    secret.write_text("not-a-real-secret\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("TENANTFLOW_OIDC_CLIENT_SECRET_FILE", str(secret))
    spec = importlib.util.spec_from_file_location("tf_webserver_config", REPO / "helm-values" / "webserver_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    mp.undo()


@pytest.mark.parametrize(("group", "role"), [
    ("finance-engineers", "finance_engineer"), ("acme_corp-admins", "acme_corp_admin"),
    ("retail-stewards", "retail_steward"), ("healthcare-analysts", "healthcare_analyst"),
])
def test_tenant_persona_groups_map_to_tenant_roles(webserver_config, group, role):
    assert webserver_config.tenant_role_of_group(group) == role


@pytest.mark.parametrize("group", ["finance-engineer", "platform-admins", "Finance-engineers", "x-admins",
                                   "finance-engineers-extra", "finance--admins"])
def test_other_groups_map_to_no_tenant_role(webserver_config, group):
    assert webserver_config.tenant_role_of_group(group) is None


def test_only_system_groups_are_listed_and_the_manager_maps_tenant_groups_at_login(webserver_config):
    assert webserver_config.AUTH_ROLES_MAPPING == {
        "platform-admins": ["platform_admin"], "platform-support": ["support"], "platform-auditors": ["auditor"]}

    class Roles(webserver_config.TenantflowSecurityManager):
        def __init__(self):  # no Flask app: only the role lookups the mapping uses
            self.existing = {"finance_engineer": "R(finance_engineer)", "platform_admin": "R(platform_admin)"}

        @property
        def auth_roles_mapping(self):
            return webserver_config.AUTH_ROLES_MAPPING

        def find_role(self, name):
            return self.existing.get(name)

    roles = Roles().get_roles_from_keys(["finance-engineers", "acme-engineers", "platform-admins", "staff"])
    assert roles == {"R(finance_engineer)", "R(platform_admin)"}  # acme: no role yet -> nothing, no error
