"""HTTP retry on tenacity against a local HTTP server: Retry-After as seconds or HTTP date, 5xx, caps, giving up."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

from sources.local_http import serve
from tenantflow.config.models import HttpSource
from tenantflow.sources.http import HttpAuth, HttpReader, HttpSourceError, retry_after_seconds


class Scripted(BaseHTTPRequestHandler):
    """Answers each path from a script of (status, headers), then 200 with one record."""

    script: dict[str, list[tuple[int, dict[str, str]]]] = {}
    calls: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        Scripted.calls.append(path)
        pending = Scripted.script.get(path)
        status, headers = pending.pop(0) if pending else (200, {})
        body = json.dumps([{"id": 1}] if status == 200 else {"error": "busy"}).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    with serve(Scripted) as base:
        yield base


@pytest.fixture(autouse=True)
def reset():
    Scripted.script.clear()
    Scripted.calls.clear()


def read(base: str, sleeps: list[float], *, jitter=None, **source) -> int:
    src = HttpSource.model_validate({"kind": "http", "connection_id": "retail__api", **source})
    extra = {"jitter": jitter} if jitter is not None else {}
    reader = HttpReader(base, src, HttpAuth(), sleep=sleeps.append, **extra)
    return sum(t.num_rows for t in reader.pages())


def test_retry_after_in_seconds_is_waited_as_asked(server):
    Scripted.script["/orders"] = [(429, {"Retry-After": "7"})]
    sleeps: list[float] = []
    assert read(server, sleeps, path="/orders") == 1
    assert sleeps == [7.0]
    assert Scripted.calls == ["/orders", "/orders"]


def test_retry_after_as_an_http_date_is_waited_until_that_time(server):
    when = datetime.now(UTC) + timedelta(seconds=30)
    Scripted.script["/orders"] = [(503, {"Retry-After": format_datetime(when, usegmt=True)})]
    sleeps: list[float] = []
    assert read(server, sleeps, path="/orders") == 1
    assert len(sleeps) == 1 and 27.0 <= sleeps[0] <= 30.0, sleeps  # the date has whole seconds


def test_503_then_success_backs_off_with_jitter_below_the_exponential_bound(server):
    Scripted.script["/orders"] = [(503, {}), (502, {}), (500, {})]
    sleeps: list[float] = []
    assert read(server, sleeps, path="/orders", backoff_seconds=0.5) == 1
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0.0 <= slept <= 0.5 * 2**attempt, (attempt, sleeps)


def test_backoff_doubles_up_to_the_cap(server):
    Scripted.script["/orders"] = [(503, {})] * 4
    sleeps: list[float] = []
    highest = lambda low, high: high  # noqa: E731 - the upper end of each jitter range
    assert read(server, sleeps, jitter=highest, path="/orders", backoff_seconds=1, max_backoff_seconds=3) == 1
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_a_long_retry_after_is_capped_at_max_backoff_seconds(server):
    Scripted.script["/orders"] = [(429, {"Retry-After": "3600"}), (503, {"Retry-After": "86400"})]
    sleeps: list[float] = []
    assert read(server, sleeps, path="/orders", max_backoff_seconds=5) == 1
    assert sleeps == [5.0, 5.0]


def test_giving_up_names_the_url_status_and_attempts(server):
    Scripted.script["/orders"] = [(503, {"Retry-After": "1"})] * 10
    sleeps: list[float] = []
    with pytest.raises(HttpSourceError, match=rf"^{server}/orders: HTTP 503: still failing after 3 attempts$"):
        read(server, sleeps, path="/orders", retries=2)
    assert Scripted.calls == ["/orders"] * 3 and sleeps == [1.0, 1.0]


def test_transport_errors_are_retried_then_name_the_url():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    expected = rf"127.0.0.1:{port}/orders: ConnectError: .*still failing after 2 attempts"
    with pytest.raises(HttpSourceError, match=expected):
        read(f"http://127.0.0.1:{port}", sleeps, path="/orders", retries=1, backoff_seconds=0)
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [400, 404, 501])
def test_answers_no_retry_can_fix_are_not_retried(server, status):
    Scripted.script["/orders"] = [(status, {"Retry-After": "1"})]
    sleeps: list[float] = []
    with pytest.raises(HttpSourceError, match=rf"/orders: HTTP {status}: "):
        read(server, sleeps, path="/orders")
    assert Scripted.calls == ["/orders"] and sleeps == []


def test_retry_after_parsing():
    now = datetime(2026, 12, 3, 8, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120", lambda: now) == 120.0
    assert retry_after_seconds("Thu, 03 Dec 2026 08:01:30 GMT", lambda: now) == 90.0
    assert retry_after_seconds("Thursday, 03-Dec-26 08:00:10 GMT", lambda: now) == 10.0  # obsolete RFC 850 form
    assert retry_after_seconds("Thu, 03 Dec 2026 07:00:00 GMT", lambda: now) == 0.0  # already past: no wait
    assert retry_after_seconds("soon", lambda: now) is None
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
