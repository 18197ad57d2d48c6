"""The tenant views of the ``tenantflow`` CLI over the dashboard API: what its remote mode calls.

``GET /api/tenants/{tenant}/{tables|quality|usage}`` answer with the text the local command prints
(``tenantflow.tenant_views``), for a user whose roles let them read the tenant's DAGs — the same scope as
the dashboard's pages (``scope``: another tenant is a 403). The data is read server-side, by the
api-server, so a tenant user needs no catalog or database access of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query

from tenantflow.cli_errors import CommandFailed
from tenantflow.dashboard.scope import Scope
from tenantflow.settings import get_settings


def views_router(user_scope: Callable[..., Scope]) -> APIRouter:
    router = APIRouter()
    scope_of = Depends(user_scope)

    def answer(view: Callable[[], Any]) -> dict[str, Any]:
        from tenantflow.tenant_views import View

        try:
            result: View = view()
        except CommandFailed as exc:
            return {"output": str(exc) + "\n", "exit_code": exc.exit_code}
        return {"output": result.output, "exit_code": result.exit_code}

    @router.get("/api/tenants/{tenant_id}/tables")
    def tables(tenant_id: str, scope: Scope = scope_of, format: str = Query("table", pattern="^(table|json)$")):  # noqa: A002
        from tenantflow.tenant_views import tables_view

        scope.dag_ids(tenant_id)
        return answer(lambda: tables_view(get_settings(), tenant_id, as_json=format == "json"))

    @router.get("/api/tenants/{tenant_id}/quality")
    def quality(tenant_id: str, scope: Scope = scope_of, pipeline: str | None = None,
                last: int = Query(10, ge=0, le=1000), format: str = Query("table", pattern="^(table|json)$")):  # noqa: A002
        from tenantflow.tenant_views import quality_view

        scope.dag_ids(tenant_id)
        return answer(lambda: quality_view(get_settings(), tenant_id, pipeline=pipeline, last=last,
                                           as_json=format == "json"))

    @router.get("/api/tenants/{tenant_id}/usage")
    def usage(tenant_id: str, scope: Scope = scope_of, first: str | None = Query(None, alias="from"),
              last: str | None = Query(None, alias="to"),
              format: str = Query("table", pattern="^(table|json|csv)$")):  # noqa: A002
        from tenantflow.tenant_views import usage_view

        scope.dag_ids(tenant_id)
        return answer(lambda: usage_view(get_settings(), tenant_id, first=first, last=last, fmt=format))

    return router
