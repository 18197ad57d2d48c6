"""The dashboard's FastAPI app, mounted by the api-server under ``/tenants-dashboard`` (see ``plugin``).

Every route authenticates like Airflow's own REST API (``GetUserDep``: the JWT bearer header, or the
UI's ``_token`` cookie that the page in the Airflow UI's iframe sends), then scopes what it answers by
the DAGs the auth manager lets the user read (``scope``). Another tenant's data is a 403.

Routes: ``/`` the page; ``/api/me`` who the user is and which tenants they see; ``/api/overview`` all
tenants (platform viewers only); ``/api/tenants/{tenant}`` one tenant's page data;
``/api/tenants/{tenant}/{tables,quality,usage}`` the CLI's tenant views (``views_api``);
``/api/tenants/{tenant}/audit`` the tenant's audit trail, for the roles ``access_matrix.audit_reader_roles``
names (Auditor, Platform Admin, the tenant's own admin) — decided by role, not by readable DAGs.
"""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from airflow.models.dag import DagModel
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from tenantflow import naming
from tenantflow.dashboard import queries
from tenantflow.dashboard.cost import cost_this_month
from tenantflow.dashboard.scope import NotPlatformViewer, Scope, TenantNotVisible, scope_from_dag_ids
from tenantflow.dashboard.views_api import views_router

URL_PREFIX = "/tenants-dashboard"


def user_scope(user: GetUserDep, session: SessionDep) -> Scope:
    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
    every = set(session.scalars(select(DagModel.dag_id)))
    return scope_from_dag_ids(user.get_name(), readable, platform=bool(every) and readable >= every)


ScopeDep = Annotated[Scope, Depends(user_scope)]


def _window() -> queries.Window:
    return queries.Window(dt.datetime.now(dt.UTC))


def create_app() -> FastAPI:
    app = FastAPI(title="tenantflow Tenants dashboard", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(TenantNotVisible)
    @app.exception_handler(NotPlatformViewer)
    async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)

    @app.get("/", response_class=HTMLResponse)
    def page(_user: GetUserDep) -> HTMLResponse:
        return HTMLResponse((files("tenantflow.dashboard") / "static" / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/me")
    def me(scope: ScopeDep) -> dict[str, Any]:
        return {"user": scope.username, "platform": scope.platform, "tenants": list(scope.tenants)}

    @app.get("/api/overview")
    def overview(scope: ScopeDep, session: SessionDep) -> dict[str, Any]:
        scope.require_platform()
        window = _window()
        return {"generated_at": window.now.isoformat(), "window_days": queries.WINDOW_DAYS,
                "tenants": queries.tenants_overview(session, list(scope.tenants), window),
                "cost_this_month": cost_this_month(session, scope.tenants)}

    @app.get("/api/tenants/{tenant_id}")
    def tenant(tenant_id: str, scope: ScopeDep, session: SessionDep) -> dict[str, Any]:
        dag_ids = scope.dag_ids(tenant_id)
        window = _window()
        pool = naming.pool_name(tenant_id)
        usage = queries.pool_usage(session, [pool]).get(pool)  # None: the pool is missing (`tenantflow sync`)
        return {
            "tenant": tenant_id,
            "generated_at": window.now.isoformat(),
            "window_days": queries.WINDOW_DAYS,
            "pipelines": queries.pipeline_health(session, dag_ids, window),
            "freshness": queries.table_freshness(session, dag_ids),
            "daily": queries.daily_series(session, dag_ids, window),
            "quota": {"pool": pool, "slots": usage["slots"] if usage else None,
                      "used": usage["used"] if usage else 0},
            "cost_this_month": cost_this_month(session, [tenant_id]),
        }

    @app.get("/api/tenants/{tenant_id}/audit")
    def tenant_audit(tenant_id: str, user: GetUserDep, since: str | None = None, until: str | None = None,
                     action: str | None = None, limit: int = 500) -> dict[str, Any]:
        from tenantflow.isolation.access_matrix import audit_reader_roles, may_read_audit

        roles = {role.name for role in getattr(user, "roles", None) or ()}
        if not may_read_audit(tenant_id, roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"user {user.get_name()!r} may not read the audit trail of tenant {tenant_id!r} "
                                f"(roles allowed: {', '.join(sorted(audit_reader_roles(tenant_id)))})")
        return _audit(tenant_id, since, until, action, max(1, min(limit, 10_000)))

    app.include_router(views_router(user_scope))  # the tenant views of the CLI's remote mode
    return app


def _audit(tenant_id: str, since: str | None, until: str | None, action: str | None, limit: int) -> dict[str, Any]:
    from tenantflow.audit.command import read_audit, window
    from tenantflow.cli_errors import CommandFailed
    from tenantflow.settings import get_settings

    try:
        records = read_audit(get_settings(), tenant_id, window(since, until), action)
    except CommandFailed as exc:
        code = status.HTTP_400_BAD_REQUEST if exc.exit_code == 2 else status.HTTP_404_NOT_FOUND
        raise HTTPException(code, str(exc)) from exc
    return {"tenant": tenant_id, "count": len(records), "records": [r.as_dict() for r in records[-limit:]]}
