"""FAB auth configuration for the tenantflow API server (Airflow 3.3 + FAB auth manager).

Wired in through the official chart's ``apiServer.apiServerConfig`` value, which the chart
mounts as ``$AIRFLOW_HOME/webserver_config.py`` (the default of ``[fab] config_file``)::

    helm upgrade --install tenantflow apache-airflow/airflow -f helm-values/values.yaml \\
        --set-file apiServer.apiServerConfig=helm-values/webserver_config.py

The chart renders this file through Helm's ``tpl``: never put two opening curly braces
next to each other anywhere in it.

SSO: generic OpenID Connect (Keycloak, Okta, Entra ID, Dex, ...). The IdP's group claim is
mapped onto the FAB roles that ``tenantflow sync`` creates, via ``AUTH_ROLES_MAPPING``.
See helm-values/sso-fab-oauth.md (also shows the LDAP variant). OAuth needs ``Authlib`` in
the image (add a pinned ``Authlib`` to requirements.txt).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from flask_appbuilder.const import AUTH_OAUTH

log = logging.getLogger(__name__)

# --- Identity provider (non-secret settings come from apiServer.env in values.yaml) ----------
OIDC_PROVIDER_NAME = "oidc"  # callback: https://<airflow-host>/auth/oauth-authorized/oidc
OIDC_DISCOVERY_URL = os.environ.get(
    "TENANTFLOW_OIDC_DISCOVERY_URL",
    "https://sso.example.com/realms/platform/.well-known/openid-configuration",
)
OIDC_CLIENT_ID = os.environ.get("TENANTFLOW_OIDC_CLIENT_ID", "tenantflow-airflow")
# Mounted from the Secret "tenantflow-oidc" into the api-server only (see values.yaml).
OIDC_CLIENT_SECRET_FILE = os.environ.get(
    "TENANTFLOW_OIDC_CLIENT_SECRET_FILE", "/opt/airflow/secrets/oidc/client_secret"
)
# Claim carrying group names. Okta: add the "groups" scope/claim; Keycloak: a "groups" mapper
# (full paths like "/finance-engineers" are reduced to their last segment below).
OIDC_GROUPS_CLAIM = os.environ.get("TENANTFLOW_OIDC_GROUPS_CLAIM", "groups")
OIDC_SCOPE = os.environ.get("TENANTFLOW_OIDC_SCOPE", "openid email profile")


def _read_client_secret() -> str:
    path = Path(OIDC_CLIENT_SECRET_FILE)
    if not path.is_file():
        raise RuntimeError(f"OIDC client secret not found at {path} (Secret tenantflow-oidc not mounted?)")
    return path.read_text().strip()


# --- IdP group -> FAB role mapping --------------------------------------------------------------
# tenantflow roles: <tenant>_admin / _engineer / _analyst / _steward, plus the system roles
# platform_admin, support, auditor. Convention: IdP group "<tenant>-<persona>s" -> "<tenant>_<persona>".
# The tenant part is matched at every login (TenantflowSecurityManager.get_roles_from_keys below), not
# listed here: a tenant merged after the api-server started is signed in as soon as the reconcile has made
# its roles -- no restart, no list to keep in step with tenant_configs. A group whose role does not exist
# (a tenant not reconciled yet, or retired) maps to nothing; FAB logs it.
AUTH_ROLES_MAPPING: dict[str, list[str]] = {
    "platform-admins": ["platform_admin"],
    "platform-support": ["support"],
    "platform-auditors": ["auditor"],
}
_SYSTEM_ROLES = frozenset(role for roles in AUTH_ROLES_MAPPING.values() for role in roles)
_PERSONAS = {"admins": "admin", "engineers": "engineer", "analysts": "analyst", "stewards": "steward"}
_TENANT_GROUP = re.compile(r"^(?P<tenant>[a-z][a-z0-9_]{2,31})-(?P<group>" + "|".join(_PERSONAS) + r")$")


def tenant_role_of_group(group: str) -> str | None:
    """ "finance-engineers" -> "finance_engineer"; None for a group that is no tenant persona group."""
    match = _TENANT_GROUP.match(group)
    role = f"{match['tenant']}_{_PERSONAS[match['group']]}" if match else None
    # the system roles are granted by the explicit mapping above only, never by the tenant pattern
    return None if role in _SYSTEM_ROLES else role


# --- FAB authentication settings -----------------------------------------------------------
AUTH_TYPE = AUTH_OAUTH
AUTH_USER_REGISTRATION = True  # create the FAB user on first SSO login
AUTH_USER_REGISTRATION_ROLE = "Public"  # baseline role for every SSO user: no permissions
AUTH_ROLES_SYNC_AT_LOGIN = True  # recompute the user's roles from IdP groups at every login
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

OAUTH_PROVIDERS = [
    {
        "name": OIDC_PROVIDER_NAME,
        "icon": "fa-key",
        "token_key": "access_token",
        "remote_app": {
            "client_id": OIDC_CLIENT_ID,
            "client_secret": _read_client_secret(),
            # Authorize/token/userinfo endpoints and signing keys come from OIDC discovery.
            "server_metadata_url": OIDC_DISCOVERY_URL,
            "client_kwargs": {"scope": OIDC_SCOPE},
        },
    }
]


class TenantflowSecurityManager(FabAirflowSecurityManagerOverride):
    """Turn OIDC claims into a FAB user whose ``role_keys`` are the IdP groups; map tenant groups by convention."""

    def get_roles_from_keys(self, role_keys: list[str]) -> set[Any]:
        roles = set(super().get_roles_from_keys(role_keys))
        for key in role_keys:
            name = tenant_role_of_group(key)
            role = self.find_role(name) if name else None
            if role is not None:
                roles.add(role)
            elif name:
                log.info("tenantflow SSO: group %s maps to role %s, which does not exist (yet)", key, name)
        return roles

    def get_oauth_user_info(self, provider: str, resp: dict[str, Any]) -> dict[str, Any]:
        if provider != OIDC_PROVIDER_NAME:
            return super().get_oauth_user_info(provider, resp)
        # With the "openid" scope Authlib verifies the ID token and puts its claims under
        # resp["userinfo"]; ask the userinfo endpoint when the groups are not in the ID token.
        claims: dict[str, Any] = dict(resp.get("userinfo") or {})
        if OIDC_GROUPS_CLAIM not in claims:
            claims.update(self.oauth_remotes[provider].userinfo(token=resp))
        groups = claims.get(OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        role_keys = sorted({str(g).rstrip("/").rsplit("/", 1)[-1] for g in groups})
        username = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        log.info("tenantflow SSO login: user=%s groups=%s", username, role_keys)
        return {
            "username": username,
            "email": claims.get("email", ""),
            "first_name": claims.get("given_name", ""),
            "last_name": claims.get("family_name", ""),
            "role_keys": role_keys,
        }


SECURITY_MANAGER_CLASS = TenantflowSecurityManager
