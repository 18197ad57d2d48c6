"""The ``AirflowPlugin`` of the Tenants dashboard: the FastAPI app plus a "Tenants" entry in the UI's nav.

The nav entry is an external view: the Airflow UI shows ``href`` (relative, so it follows the
deployment's base URL) in an iframe at ``/plugin/tenants``; the page and its API calls carry the
UI's session cookie, which the app authenticates like the REST API does.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tenantflow.dashboard.api import URL_PREFIX, create_app


class TenantsDashboardPlugin(AirflowPlugin):
    name = "tenantflow_dashboard"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "tenantflow Tenants dashboard"}]
    external_views = [{
        "name": "Tenants",
        "href": URL_PREFIX.lstrip("/") + "/",
        "destination": "nav",
        "url_route": "tenants",
    }]
