"""The doctor's graphql check: `{ __typename }` POSTed through the tenant's connection and auth to a local
GraphQL API (graphql-core), and what the line says when the token, the path or the host is wrong."""

from __future__ import annotations

import json
import typing
from http.server import BaseHTTPRequestHandler

import pytest
from doctor_tree import bundle, closed_port

from sources.local_graphql import Api
from sources.local_http import serve
from tenantflow.doctor.checks import CHECK_NAMES, run_checks
from tenantflow.doctor.plan import Purpose
from tenantflow.doctor.probes import CONNECTION_KINDS, PROBES
from tenantflow.doctor.result import Status

TOKEN = "gql-doctor-t0ken-not-to-print"
QUERY = "query Orders($first: Int!, $after: String) { orders(first: $first, after: $after) { nodes { id } " \
        "pageInfo { hasNextPage endCursor } } }"


class NotGraphQL(BaseHTTPRequestHandler):
    """A web server that answers every POST with an HTML page (a wrong path on a real site)."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's API
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(autouse=True)
def reset():
    Api.reset()
    yield
    Api.reset()


def graphql_source(connection_id: str, path: str = "/graphql") -> dict:
    return {"source": {"kind": "graphql", "connection_id": connection_id, "path": path, "query": QUERY,
                       "records_path": "data.orders", "pagination": {"style": "relay"}}}


def _connection(monkeypatch, conn_id: str, url: str, token: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": token}))


def _line(report, subject):
    (found,) = [r for r in report.results if r.subject == subject]
    return found


def test_graphql_api_answers_typename_with_the_tokens_auth(tmp_path, monkeypatch):
    Api.token = TOKEN
    with serve(Api) as url, serve(NotGraphQL) as web:
        _connection(monkeypatch, "acme__shop", url, TOKEN)
        _connection(monkeypatch, "acme__wrongkey", url, "not-the-token")
        _connection(monkeypatch, "acme__site", web, TOKEN)
        _connection(monkeypatch, "acme__down", f"http://127.0.0.1:{closed_port()}", TOKEN)
        b = bundle(tmp_path, {"orders": graphql_source("acme__shop"), "stale": graphql_source("acme__wrongkey"),
                              "site": graphql_source("acme__site", "/shop"), "down": graphql_source("acme__down")})
        report = run_checks(b, str(tmp_path / "home"), timeout=3)

    ok = _line(report, "acme__shop")
    assert (ok.status, ok.check) == (Status.OK, "source")
    assert ok.detail == f"graphql of orders: {url}/graphql answers a GraphQL query ({{ __typename }} is 'Query')"
    assert {"query": "{ __typename }", "auth": f"Bearer {TOKEN}", "variables": {}} in Api.requests
    refused = _line(report, "acme__wrongkey")
    assert refused.status == Status.FAIL and "credentials refused (HTTP 401)" in refused.detail
    site = _line(report, "acme__site")
    assert site.status == Status.FAIL and f"{web}/shop: HTTP 200, not a GraphQL answer (text/html)" in site.detail
    assert "check source.path (the GraphQL endpoint, default /graphql)" in site.hint
    down = _line(report, "acme__down")
    assert down.status == Status.FAIL and "no answer: ConnectError" in down.detail
    assert TOKEN not in repr(report)


def test_a_missing_graphql_connection_says_what_it_must_hold(tmp_path):
    report = run_checks(bundle(tmp_path, {"orders": graphql_source("acme__nowhere")}), str(tmp_path / "home"))
    line = _line(report, "acme__nowhere")
    assert line.status == Status.FAIL and line.detail == "graphql of orders: connection does not exist"
    assert "the API's base URL as host" in line.hint


def test_another_tenants_connection_is_an_isolation_failure_and_never_looked_up(tmp_path, monkeypatch):
    b = bundle(tmp_path, {"orders": graphql_source("acme__shop")})
    foreign = b.pipelines[0].model_copy(update={"source": b.pipelines[0].source.model_copy(
        update={"connection_id": "globex__shop"})})
    b = type(b)(b.tenant, (foreign,), b.platform, b.folder)
    report = run_checks(b, str(tmp_path / "home"), timeout=1)
    (isolation,) = [r for r in report.results if r.check == "isolation"]
    assert isolation.status == Status.FAIL and "may not use connection 'globex__shop'" in isolation.detail
    assert not [r for r in report.results if r.subject == "globex__shop" and r.check == "source"]


def test_every_purpose_has_a_probe_a_check_name_and_a_connection_hint():
    purposes = set(typing.get_args(Purpose))
    assert "graphql" in purposes
    assert set(PROBES) == set(CHECK_NAMES) == purposes and set(CONNECTION_KINDS) == purposes
