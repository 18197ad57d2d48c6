"""Catalog types: Unity Catalog Iceberg REST (request shape, local HTTP server) and Glue (moto server).

No Iceberg REST catalog server that runs without a JVM or Docker is on PyPI, so the REST catalog is
checked by what it sends: endpoint under the workspace, warehouse = UC catalog, bearer token or
OAuth client-credentials exchange, and the namespace calls made by `tenantflow sync`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pytest

from tenantflow.catalog.catalogs import CatalogCredentials, catalog_properties, open_catalog
from tenantflow.catalog.namespaces import sync_namespaces
from tenantflow.config.loader import load_tenant
from tenantflow.config.models import CatalogSettings, Target

UC_PATH = "/api/2.1/unity-catalog/iceberg-rest"
UNITY = CatalogSettings(type="rest", connection="databricks", properties={
    "uri": "https://{workspace}" + UC_PATH, "warehouse": "{tenant}_prod"})


class UnityCatalogStandIn:
    """Iceberg REST endpoints of one workspace (config, namespaces) plus its OAuth token endpoint."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.namespaces: dict[str, dict[str, str]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                api.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                     "auth": self.headers.get("Authorization"), "body": raw})
                if url.path == "/oidc/v1/token":
                    form = parse_qs(raw)
                    ok = form.get("client_id") == ["sp-healthcare"] and form.get("client_secret") == ["s3cret"]
                    return self._reply(200 if ok else 401, {"access_token": "oauth-token", "token_type": "bearer",
                                                            "expires_in": 3600} if ok else {"error": "invalid_client"})
                if self.headers.get("Authorization") not in ("Bearer pat-finance", "Bearer oauth-token"):
                    denied = {"message": "unauthorized", "type": "NotAuthorized", "code": 401}
                    return self._reply(401, {"error": denied})
                path = url.path.removeprefix(UC_PATH)
                if path == "/v1/config":
                    warehouse = parse_qs(url.query)["warehouse"][0]
                    return self._reply(200, {"defaults": {}, "overrides": {"prefix": f"catalogs/{warehouse}"}})
                parts = path.split("/")  # '', 'v1', 'catalogs', <uc>, 'namespaces', [ns, ['properties']]
                if parts[4:5] != ["namespaces"]:
                    return self._reply(404, {"error": {"message": path, "type": "NotFound", "code": 404}})
                if method == "POST" and len(parts) == 5:
                    body = json.loads(raw)
                    name = ".".join(body["namespace"])
                    api.namespaces[name] = body.get("properties", {})
                    return self._reply(200, {"namespace": body["namespace"], "properties": api.namespaces[name]})
                name = parts[5]
                if name not in api.namespaces:
                    return self._reply(404, {"error": {"message": f"Namespace does not exist: {name}",
                                                       "type": "NoSuchNamespaceException", "code": 404}})
                if method == "POST" and parts[6:] == ["properties"]:
                    updates = json.loads(raw).get("updates", {})
                    api.namespaces[name].update(updates)
                    return self._reply(200, {"updated": sorted(updates), "removed": [], "missing": []})
                return self._reply(200, {"namespace": [name], "properties": api.namespaces[name]})

            def do_GET(self):  # noqa: N802
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

            def do_HEAD(self):  # noqa: N802
                self._handle("HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def unity():
    server = UnityCatalogStandIn()
    yield server
    server.close()


def bundles(repo, *tenants):
    return {t: load_tenant(repo / "tenant_configs", t) for t in tenants}


def test_uc_properties_name_the_workspace_endpoint_and_catalog():
    props = catalog_properties(UNITY, "/home", tenant_id="finance",
                               credentials=CatalogCredentials(host="https://dbc-fin.cloud.databricks.com",
                                                              password="pat-finance"))
    assert props["uri"] == "https://dbc-fin.cloud.databricks.com" + UC_PATH
    assert props["warehouse"] == "finance_prod" and props["token"] == "pat-finance"
    assert "credential" not in props


def test_a_token_connection_reaches_the_tenants_workspace(unity, monkeypatch, repo):
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__DATABRICKS", json.dumps({
        "conn_type": "databricks", "host": "127.0.0.1", "port": unity.server.server_address[1], "schema": "http",
        "password": "pat-finance"}))
    settings = CatalogSettings(type="rest", connection="databricks",
                               properties={"uri": "http://{workspace}" + UC_PATH, "warehouse": "{tenant}_prod"})
    catalog = open_catalog("unity", settings, "/home", tenant_id="finance")
    changes = sync_namespaces(bundles(repo, "finance"), lambda b: catalog)
    assert [(c.kind, c.namespace) for c in changes] == [("create_namespace", "finance")]
    config = unity.requests[0]
    assert (config["path"], config["query"]["warehouse"]) == (UC_PATH + "/v1/config", ["finance_prod"])
    create = next(r for r in unity.requests if r["method"] == "POST")
    assert create["path"] == UC_PATH + "/v1/catalogs/finance_prod/namespaces"
    assert {r["auth"] for r in unity.requests} == {"Bearer pat-finance"}
    assert unity.namespaces["finance"]["tenantflow.tenant"] == "finance"
    assert sync_namespaces(bundles(repo, "finance"), lambda b: catalog) == []  # idempotent


def test_oauth_client_credentials_are_exchanged_for_a_token(unity, repo):
    creds = CatalogCredentials(host=unity.host, login="sp-healthcare", password="s3cret")
    settings = CatalogSettings(type="rest", properties={"uri": unity.host + UC_PATH, "warehouse": "clinical"})
    catalog = open_catalog("unity", settings, "/home", tenant_id="healthcare", credentials=creds)
    sync_namespaces(bundles(repo, "healthcare"), lambda b: catalog)
    token = unity.requests[0]
    assert token["path"] == "/oidc/v1/token" and parse_qs(token["body"])["scope"] == ["all-apis"]
    api_calls = [r for r in unity.requests if r["path"].startswith(UC_PATH)]
    assert api_calls and {r["auth"] for r in api_calls} == {"Bearer oauth-token"}
    assert "healthcare" in unity.namespaces


def test_each_tenant_opens_its_catalog_through_its_own_connection(unity, monkeypatch):
    from pydantic import ValidationError

    other = UnityCatalogStandIn()
    try:
        for tenant, server in (("finance", unity), ("healthcare", other)):
            monkeypatch.setenv(f"AIRFLOW_CONN_{tenant.upper()}__DATABRICKS", json.dumps({
                "conn_type": "databricks", "host": "127.0.0.1", "port": server.server.server_address[1],
                "schema": "http", "password": "pat-finance"}))
        settings = CatalogSettings(type="rest", connection="databricks",
                                   properties={"uri": "http://{workspace}" + UC_PATH, "warehouse": "{tenant}_prod"})
        open_catalog("unity", settings, "/home", tenant_id="healthcare")
        assert unity.requests == []
        assert other.requests[0]["query"]["warehouse"] == ["healthcare_prod"]
    finally:
        other.close()
    with pytest.raises(ValidationError, match="connection"):
        CatalogSettings(type="rest", connection="../retail__databricks")


def test_a_failing_catalog_is_reported_per_tenant(repo):
    def broken(bundle):
        raise ConnectionError("workspace unreachable")

    changes = sync_namespaces(bundles(repo, "finance", "retail"), broken)
    assert [(c.tenant_id, c.kind) for c in changes] == [("finance", "failed"), ("retail", "failed")]


@pytest.fixture
def moto():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_glue_catalog_creates_namespaces_and_writes_tables(moto, monkeypatch, repo):
    import boto3

    from tenantflow.loading.commit import PlannedLoad
    from tenantflow.loading.iceberg_writer import write_batch

    boto3.client("s3", endpoint_url=moto, region_name="us-east-1").create_bucket(Bucket="acme-lakehouse")
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__AWS", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing", "extra": {"region_name": "us-east-1"}}))
    settings = CatalogSettings(type="glue", connection="aws", properties={
        "glue.endpoint": moto, "s3.endpoint": moto, "s3.region": "us-east-1",
        "s3.access-key-id": "testing", "s3.secret-access-key": "testing",
        "warehouse": "s3://acme-lakehouse/{tenant}"})
    catalog = open_catalog("glue", settings, "/home", tenant_id="retail")
    changes = sync_namespaces(bundles(repo, "retail"), lambda b: catalog)
    assert [(c.kind, c.namespace) for c in changes] == [("create_namespace", "retail")]
    database = boto3.client("glue", endpoint_url=moto, region_name="us-east-1").get_database(Name="retail")
    assert database["Database"]["Parameters"]["tenantflow.tenant"] == "retail"
    data = pa.table({"sku": ["SKU-00001", "SKU-00002"], "price": [1.5, 2.5]})
    write_batch(catalog, "retail.products", data, Target(table="products", mode="append"),
                PlannedLoad(run_id="r1", pipeline_id="products"))
    table = catalog.load_table("retail.products")
    assert table.scan().to_arrow().sort_by("sku").to_pylist() == data.to_pylist()
    assert table.metadata.location.startswith("s3://acme-lakehouse/retail")
