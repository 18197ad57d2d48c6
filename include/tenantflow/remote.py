"""The CLI's remote mode: a tenant view asked of the api-server with the user's own token.

``tenantflow tables|quality|usage|audit TENANT --api-url URL`` calls the tenants dashboard API
(``dashboard/views_api.py``), which answers within the user's roles, so a tenant user needs no database
or catalog access. The token: ``AIRFLOW_CLI_TOKEN`` (as airflowctl reads it), else what ``airflowctl auth
login`` stored (its keyring entry, or with ``AIRFLOW_CLI_DEBUG_MODE=true`` its debug file); the URL: the
option, else the one airflowctl's login saved. Every failure is one line saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantflow.cli_errors import CommandFailed
from tenantflow.settings import job_environment

PREFIX = "/tenants-dashboard"
LOGIN_HINT = ("log in with `airflowctl auth login --api-url URL --api-token TOKEN` (token from POST /auth/token) "
              "or set AIRFLOW_CLI_TOKEN")


@dataclass(frozen=True)
class Remote:
    api_url: str
    token: str


def remote(api_url: str | None) -> Remote:
    """The API URL and token to use (from the option, the environment or airflowctl's stored login)."""
    token = job_environment("AIRFLOW_CLI_TOKEN")
    if token is None or api_url is None:
        stored = _airflowctl_login(need_token=token is None)
        api_url = api_url or stored.api_url
        token = token or stored.api_token
    if not api_url:
        raise CommandFailed(f"no API URL: pass --api-url, or {LOGIN_HINT}", 2)
    if not token:
        raise CommandFailed(f"no API token for {api_url}: {LOGIN_HINT}", 2)
    return Remote(api_url.rstrip("/"), token)


def _airflowctl_login(*, need_token: bool) -> Any:
    from airflowctl.api.client import ClientKind, Credentials
    from airflowctl.exceptions import AirflowCtlException

    try:
        return Credentials(client_kind=ClientKind.CLI if need_token else ClientKind.NO_AUTH).load()
    except AirflowCtlException as exc:
        raise CommandFailed(f"cannot read airflowctl's stored login ({exc}): {LOGIN_HINT}", 2) from None


def fetch_view(target: Remote, tenant_id: str, view: str, params: dict[str, Any]) -> tuple[str, int]:
    """(output, exit code) of a tenant view, or a one-line CommandFailed."""
    body = fetch(target, tenant_id, view, params)
    return body["output"], int(body["exit_code"])


def fetch(target: Remote, tenant_id: str, view: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer of ``/api/tenants/<tenant>/<view>``, or a one-line CommandFailed."""
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would precede every answer
    url = f"{target.api_url}{PREFIX}/api/tenants/{tenant_id}/{view}"
    try:
        response = httpx.get(url, params={k: v for k, v in params.items() if v is not None},
                             headers={"Authorization": f"Bearer {target.token}"}, timeout=120)
    except httpx.HTTPError as exc:
        raise CommandFailed(f"cannot reach the api-server at {target.api_url} ({type(exc).__name__}: {exc}): "
                            "check --api-url and that the server is up", 3) from None
    if response.status_code == 401 or (response.status_code == 403 and _token_problem(_detail(response))):
        raise CommandFailed(f"the API token was refused by {target.api_url} (expired or invalid): {LOGIN_HINT} "
                            "again", 4)
    if response.status_code == 403:
        detail = _detail(response) or f"your roles do not let you read tenant {tenant_id!r}"
        raise CommandFailed(f"refused: {detail}", 5)
    if response.status_code == 404 and _detail(response) in (None, "Not Found"):
        raise CommandFailed(f"{url} is not there: the api-server has no tenantflow plugin (or an older one)", 3)
    if response.status_code >= 400:
        raise CommandFailed(f"{view}: {_detail(response) or f'HTTP {response.status_code} {response.text[:200]}'}",
                            2 if response.status_code == 400 else 1)
    return response.json()


def _token_problem(detail: str | None) -> bool:
    """Airflow answers 403 "Invalid JWT token" (or an expired signature) for a bad token, not 401."""
    return detail is not None and any(w in detail.lower() for w in ("jwt", "token", "signature", "authenticated"))


def _detail(response: Any) -> str | None:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return None
    return detail if isinstance(detail, str) else None
