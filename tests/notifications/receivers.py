"""Local stand-ins for alert receivers: one HTTP server (Slack webhook and API, PagerDuty Events API,
a webhook) and a minimal SMTP server, plus the Airflow connections (as AIRFLOW_CONN_* JSON) pointing at them."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receivers:
    http_port: int
    smtp_port: int
    requests: list[dict] = field(default_factory=list)  # {"path", "headers", "body"}
    mails: list[dict] = field(default_factory=list)  # {"from", "rcpt", "data"}

    def to(self, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(prefix)]

    def connections(self, prefix: str) -> dict[str, str]:
        """Env vars of the connections ``<prefix>__smtp, __slack, __slack_api, __pagerduty, __hook``."""
        base = f"http://127.0.0.1:{self.http_port}"
        conns = {
            "smtp": {"conn_type": "smtp", "host": "127.0.0.1", "port": self.smtp_port,
                     "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "alerts@platform.example"}},
            "slack": {"conn_type": "slackwebhook", "host": f"{base}/slack-hooks", "password": "T00/B00/secret"},
            "slack_api": {"conn_type": "slack", "password": "xoxb-test",
                          "extra": {"base_url": f"{base}/slack-api/"}},
            "pagerduty": {"conn_type": "pagerduty_events", "host": f"{base}/pagerduty", "password": "routing-key-1"},
            "hook": {"conn_type": "http", "host": "127.0.0.1", "port": self.http_port, "schema": "http"},
        }
        return {f"AIRFLOW_CONN_{prefix.upper()}__{name.upper()}": json.dumps(c) for name, c in conns.items()}


def start() -> tuple[Receivers, Callable[[], None]]:
    """Start both servers; returns the receivers and a stop function."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode()
            requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, reply = 200, b"ok"
            if "broken" in self.path:
                status, reply = 500, b"down"
            elif self.path.startswith("/pagerduty"):
                key = body.get("dedup_key") if isinstance(body, dict) else None
                status, reply = 202, json.dumps({"status": "success", "dedup_key": key or "k"}).encode()
            elif self.path.startswith("/slack-api"):
                reply = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if reply[:1] == b"{" else "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    smtp.daemon_threads = True
    receivers = Receivers(http.server_address[1], smtp.server_address[1], requests)
    smtp.mails = receivers.mails
    for server in (http, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        http.shutdown()
        smtp.shutdown()

    return receivers, stop


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

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
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                mail["data"] = data.decode()
                self.server.mails.append(dict(mail))
                mail = {"rcpt": []}
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")
