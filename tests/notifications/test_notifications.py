"""Notifications reach real receivers (a local HTTP server, a local SMTP server) with counts, never values."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tenantflow.config.models import Notification
from tenantflow.notifications.dispatch import deliver
from tenantflow.notifications.message import quality_warning
from tenantflow.notifications.notifier import TenantNotifier

REPORT = {"rows": 500, "score": 97.5, "rules": [
    {"rule": "accepted_values(channel)", "severity": "warn", "success": False, "unexpected_count": 12,
     "unexpected_percent": 2.4},
    {"rule": "not_null(sale_id)", "severity": "error", "success": True, "unexpected_count": 0,
     "unexpected_percent": 0.0},
]}


@pytest.fixture
def http_receiver():
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(200 if self.path != "/broken" else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: HELO/EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        mail: dict = {"rcpt": []}
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == "MAIL":
                mail["from"] = line.decode().strip()
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                mail["rcpt"].append(line.decode().strip())
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                mail["data"] = data.decode()
                self.server.mails.append(dict(mail))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_receiver(monkeypatch):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.mails = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TENANTFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TENANTFLOW_SMTP_PORT", str(server.server_address[1]))
    monkeypatch.setenv("TENANTFLOW_SMTP_FROM", "tenantflow@platform.example")
    yield server.mails
    server.shutdown()


def test_quality_warning_reaches_webhook_slack_and_email(http_receiver, smtp_receiver):
    base, received = http_receiver
    targets = (
        Notification(kind="webhook", target=f"{base}/hook", events=("quality_warning",)),
        Notification(kind="slack", target=f"{base}/slack", events=("quality_warning", "failure")),
        Notification(kind="email", target="retail-oncall@example.com", events=("quality_warning",)),
        Notification(kind="webhook", target=f"{base}/failures-only", events=("failure",)),
    )
    outcome = deliver(targets, quality_warning("retail", "retail__sales", "manual__1", REPORT))
    assert outcome == {f"{base}/hook": "sent", f"{base}/slack": "sent", "retail-oncall@example.com": "sent"}
    hook = dict(received)["/hook"]
    assert hook["event"] == "quality_warning" and hook["tenant"] == "retail" and hook["details"]["failed_warn"] == 1
    assert hook["lines"] == ["- accepted_values(channel): 12 unexpected row(s) (2.40%)"]
    assert "retail__sales: 1 quality warning(s) on 500 rows" in dict(received)["/slack"]["text"]
    (mail,) = smtp_receiver
    assert "retail-oncall@example.com" in mail["rcpt"][0]
    assert "[tenantflow][retail] retail__sales: 1 quality warning(s)" in " ".join(mail["data"].split())
    assert "accepted_values(channel): 12 unexpected row(s)" in mail["data"]


def test_an_unreachable_target_is_reported_not_raised(http_receiver, monkeypatch):
    base, _ = http_receiver
    monkeypatch.setenv("TENANTFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TENANTFLOW_SMTP_PORT", "1")  # nothing listens there
    targets = (Notification(kind="email", target="a@example.com", events=("quality_warning",)),
               Notification(kind="webhook", target=f"{base}/broken", events=("quality_warning",)))
    outcome = deliver(targets, quality_warning("retail", "retail__sales", "r", REPORT))
    assert outcome["a@example.com"].startswith("failed: ConnectionRefusedError")
    assert outcome[f"{base}/broken"].startswith("failed: HTTPError")


def test_failure_notifier_names_the_task_but_not_values(http_receiver):
    base, received = http_receiver
    notifier = TenantNotifier(tenant_id="finance", event="failure",
                              targets=(Notification(kind="webhook", target=f"{base}/f", events=("failure",)),))

    class Ti:
        task_id = "extract"

    class Dag:
        dag_id = "finance__orders"

    error = ValueError("orders.csv, row 2, column 'email': not a valid int64: 'ann@example.com'")
    notifier.notify({"dag": Dag(), "run_id": "scheduled__1", "ti": Ti(), "exception": error})
    (_, payload), = received
    assert payload["title"] == "finance__orders: task extract failed"
    assert "ann@example.com" not in json.dumps(payload) and "ValueError: orders.csv, row 2" in payload["lines"][0]


def test_targets_are_validated():
    with pytest.raises(ValueError, match="email target 'oncall' is not an email address"):
        Notification(kind="email", target="oncall")
    with pytest.raises(ValueError, match=r"webhook target 'hooks.example.com' must be an http\(s\):// URL"):
        Notification(kind="webhook", target="hooks.example.com")


def test_factory_sets_the_failure_callback_only_for_subscribed_tenants(repo):
    from tenantflow.config.loader import load_tenant
    from tenantflow.factory.dag_builder import default_args
    from tenantflow.pipeline_context import PipelineContext

    def args(tenant_id):
        bundle = load_tenant(repo / "tenant_configs", tenant_id)
        return default_args(PipelineContext(bundle.tenant, bundle.pipelines[0], bundle.platform, "/tmp"))

    assert isinstance(args("finance")["on_failure_callback"], TenantNotifier)  # email on failure
    assert "on_failure_callback" not in args("retail")  # no notification targets
