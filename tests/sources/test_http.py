"""REST API connector against a local HTTP server started by the test."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
import pytest

from sources.local_http import serve
from tenantflow.config.models import HttpSource
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.http import HttpAuth, HttpReader, HttpSourceError, HttpSourceHook

ITEMS = [{"id": i, "name": f"item {i}", "price": {"amount": i * 1.5, "currency": "EUR"}} for i in range(1, 26)]


class Api(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict]] = []
    failures: dict[str, list[int]] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: object = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        Api.calls.append((url.path, {**q, "auth": self.headers.get("Authorization") or self.headers.get("X-Key")}))
        pending = Api.failures.get(url.path)
        if pending:
            status = pending.pop(0)
            return self._send(status, {"error": "busy"}, {"Retry-After": "0"} if status == 429 else None)
        if url.path == "/secured" and self.headers.get("Authorization") != "Bearer s3cret":
            return self._send(401, {"error": "unauthorized"})
        if url.path in ("/page", "/secured", "/flaky"):
            page, size = int(q.get("page", 1)), int(q.get("per_page", 10))
            return self._send(200, {"data": {"items": ITEMS[(page - 1) * size: page * size]}})
        if url.path == "/offset":
            start, size = int(q.get("offset", 0)), int(q.get("limit", 10))
            return self._send(200, ITEMS[start:start + size])
        if url.path == "/cursor":
            start = int(q.get("cursor", 0))
            nxt = start + 10 if start + 10 < len(ITEMS) else None
            return self._send(200, {"results": ITEMS[start:start + 10], "meta": {"next": nxt}})
        if url.path == "/link":
            start = int(q.get("from", 0))
            headers = {"Link": f'</link?from={start + 10}>; rel="next"'} if start + 10 < len(ITEMS) else {}
            return self._send(200, ITEMS[start:start + 10], headers)
        if url.path == "/keyed":
            ok = self.headers.get("X-Key") == "k1"
            return self._send(200 if ok else 403, ITEMS[:3] if ok else {"error": "forbidden"})
        return self._send(404, {"error": "no such endpoint"})


@pytest.fixture(scope="module")
def server():
    with serve(Api) as base:
        yield base


@pytest.fixture(autouse=True)
def reset():
    Api.calls.clear()
    Api.failures.clear()


NO_AUTH = HttpAuth()


def read(base, auth=NO_AUTH, **source) -> pa.Table:
    src = HttpSource.model_validate({"kind": "http", "connection_id": "retail__api", "backoff_seconds": 0, **source})
    tables = list(HttpReader(base, src, auth, sleep=lambda s: None).pages())
    return pa.concat_tables(tables) if tables else pa.table({})


@pytest.mark.parametrize(
    "source",
    [
        {"path": "/page", "records_path": "data.items", "pagination": {"type": "page", "size": 10}},
        {"path": "/offset", "pagination": {"type": "offset", "size": 10, "size_param": "limit"}},
        {"path": "/cursor", "records_path": "results",
         "pagination": {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "cursor"}},
        {"path": "/link", "pagination": {"type": "link"}},
    ],
    ids=["page", "offset", "cursor", "link"],
)
def test_every_pagination_style_reads_every_record_once(server, source):
    table = read(server, **source)
    assert sorted(table["id"].to_pylist()) == list(range(1, 26))
    assert table.schema.field("price").type == pa.struct([("amount", pa.float64()), ("currency", pa.string())])


def test_bearer_auth_from_the_tenants_connection(server, monkeypatch):
    host, port = server.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__API", json.dumps(
        {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": "s3cret",
         "extra": {"auth_type": "bearer"}}))
    source = HttpSource.model_validate({"kind": "http", "connection_id": "retail__api", "path": "/secured",
                                        "records_path": "data.items", "pagination": {"type": "page", "size": 10}})
    table = pa.concat_tables(list(HttpSourceHook(tenant_id="retail", connection_id="retail__api").read(source)))
    assert table.num_rows == 25


def test_api_key_header(server):
    table = read(server, HttpAuth(headers={"X-Key": "k1"}), path="/keyed")
    assert table.num_rows == 3


def test_429_with_retry_after_and_transient_500s_are_retried(server):
    Api.failures["/flaky"] = [429, 500, 503]
    table = read(server, path="/flaky", records_path="data.items", pagination={"type": "page", "size": 10})
    assert table.num_rows == 25
    assert [c for c in Api.calls if c[0] == "/flaky"][0][1]["page"] == "1"


def test_persistent_failure_names_the_url_and_attempts(server):
    Api.failures["/flaky"] = [503] * 10
    with pytest.raises(HttpSourceError, match=r"/flaky: HTTP 503: still failing after 3 attempts"):
        read(server, path="/flaky", retries=2)


def test_client_errors_are_not_retried(server):
    with pytest.raises(HttpSourceError, match=r"/missing: HTTP 404"):
        read(server, path="/missing")
    assert len(Api.calls) == 1
    with pytest.raises(HttpSourceError, match="HTTP 401"):
        read(server, path="/secured", records_path="data.items")


def test_wrong_records_path_is_a_clear_error(server):
    with pytest.raises(HttpSourceError, match=r"records_path 'data.rows' not found in the response \(missing 'rows'\)"):
        read(server, path="/page", records_path="data.rows")


def test_hook_refuses_another_tenants_connection():
    with pytest.raises(TenantIsolationError):
        HttpSourceHook(tenant_id="retail", connection_id="finance__api")
