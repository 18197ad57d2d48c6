"""Alerts reach real receivers through the providers' notifiers: SMTP, Slack (webhook and API), PagerDuty
and a webhook, each on its own connection pointing at a local server; routing picks them by severity."""

from __future__ import annotations

import base64
import html
import json

import pytest

from notifications.receivers import start
from tenantflow.config.alerting import PlatformAlerting, TenantAlerting
from tenantflow.notifications.alert import Alert, error_summary
from tenantflow.notifications.delivery import deliver
from tenantflow.notifications.routing import route

TARGETS = {
    "mail": {"kind": "smtp", "connection": "retail__smtp", "to": ["retail-oncall@example.com"]},
    "slack": {"kind": "slack", "connection": "retail__slack"},
    "slack_api": {"kind": "slack", "connection": "retail__slack_api", "channel": "#retail-alerts"},
    "pager": {"kind": "pagerduty", "connection": "retail__pagerduty"},
    "hook": {"kind": "webhook", "connection": "retail__hook", "endpoint": "alerts/retail"},
    "broken": {"kind": "webhook", "connection": "retail__hook", "endpoint": "broken"},
}


@pytest.fixture
def receivers(monkeypatch):
    found, stop = start()
    for key, value in found.connections("retail").items():
        monkeypatch.setenv(key, value)
    yield found
    stop()


def alerting(**routing) -> TenantAlerting:
    return TenantAlerting.model_validate({"targets": TARGETS, **routing})


def failure() -> Alert:
    error = ValueError("products.json, line 2: 'ann@example.com' is not a valid int64")
    return Alert(event="failure", tenant="retail", pipeline="products", dag_id="retail__products",
                 run_id="manual__1", task_id="extract", error=error_summary(error))


def mail_text(mail: dict) -> str:
    body = mail["data"].split("base64\r\n\r\n", 1)[1].split("\r\n\r\n", 1)[0]
    return html.unescape(base64.b64decode(body).decode())


def test_each_severity_goes_to_its_targets(receivers):
    config = alerting(events={"failure": "critical", "quality_warning": "warning"},
                      severities={"critical": ["mail", "pager"], "warning": ["slack"]})
    assert deliver(route(failure(), config), {}) == {"mail": "sent", "pager": "sent"}
    (mail,) = receivers.mails
    assert "retail-oncall@example.com" in mail["rcpt"][0]
    assert "Subject: [critical][retail] retail__products: task extract failed" in mail["data"]
    assert "Error: ValueError: products.json, line 2: '…' is not a valid int64" in mail_text(mail)
    (page,) = receivers.to("/pagerduty/v2/enqueue")  # the connection's host is the Events API base URL
    assert page["body"]["routing_key"] == "routing-key-1"
    assert page["body"]["payload"]["severity"] == "critical"
    assert page["body"]["dedup_key"] == "tenantflow/retail__products/failure"
    assert receivers.to("/slack") == []  # warning only

    warning = Alert(event="quality_warning", tenant="retail", pipeline="products", dag_id="retail__products",
                    run_id="manual__1", counts={"rows": 500, "failed_warn_rules": 1},
                    details=("accepted_values(category): 12 unexpected row(s) (2.40%)",))
    assert deliver(route(warning, config), {}) == {"slack": "sent"}
    (slack,) = receivers.to("/slack-hooks/T00/B00/secret")  # webhook token from the connection's password
    assert slack["body"]["text"].startswith("*[warning][retail] retail__products: 1 quality warning(s) on 500 rows*")
    assert "accepted_values(category): 12 unexpected row(s)" in slack["body"]["text"]


def test_an_event_the_tenant_does_not_route_sends_nothing(receivers):
    config = alerting(severities={"critical": ["mail"], "info": ["slack"]})  # default events: success is opt-in
    success = Alert(event="success", tenant="retail", pipeline="products", dag_id="retail__products")
    assert route(success, config) == []
    assert deliver(route(success, alerting(events={"success": "info"}, severities={"info": ["slack"]})), {}) \
        == {"slack": "sent"}
    assert "run succeeded" in receivers.to("/slack-hooks")[0]["body"]["text"]


def test_slack_api_and_webhook_targets(receivers):
    config = alerting(severities={"critical": ["slack_api", "hook"]})
    assert deliver(route(failure(), config), {}) == {"slack_api": "sent", "hook": "sent"}
    (post,) = receivers.to("/slack-api/chat.postMessage")
    assert post["body"]["channel"] == "#retail-alerts" and post["headers"]["Authorization"] == "Bearer xoxb-test"
    (hook,) = receivers.to("/alerts/retail")
    assert hook["body"]["event"] == "failure" and hook["body"]["severity"] == "critical"
    assert hook["body"]["task_id"] == "extract" and "ann@example.com" not in json.dumps(hook["body"])


def test_failed_deliveries_are_reported_not_raised(receivers, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__SMTP", json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": 1, "extra": {"disable_ssl": True, "disable_tls": True,
                                                                        "from_email": "a@platform.example"}}))
    config = alerting(severities={"critical": ["broken", "mail", "hook"]})
    outcome = deliver(route(failure(), config), {})
    assert outcome["broken"].startswith("failed: AirflowException: 500")
    assert outcome["mail"].startswith("failed: ConnectionRefusedError")
    assert outcome["hook"] == "sent"  # the failures before it did not stop it


def test_escalation_goes_to_the_platform_oncall_at_its_severity(receivers, monkeypatch):
    platform = PlatformAlerting.model_validate({"oncall": {"severity": "critical", "targets": {
        "pd": {"kind": "pagerduty", "connection": "platform__pagerduty"}}}})
    monkeypatch.setenv("AIRFLOW_CONN_PLATFORM__PAGERDUTY", json.dumps(
        {"conn_type": "pagerduty_events", "host": f"http://127.0.0.1:{receivers.http_port}/pagerduty",
         "password": "platform-key"}))
    config = alerting(events={"escalation": "warning"}, severities={"warning": ["slack"]})
    escalated = Alert(**{**failure().context(), "event": "escalation", "counts": {"consecutive_failures": 3}})
    assert deliver(route(escalated, config, platform), {}) == {"slack": "sent", "oncall:pd": "sent"}
    (page,) = receivers.to("/pagerduty")
    assert page["body"]["routing_key"] == "platform-key" and page["body"]["payload"]["severity"] == "critical"
    assert "3 failed runs in a row" in page["body"]["payload"]["summary"]
    assert "[warning][retail]" in receivers.to("/slack-hooks")[0]["body"]["text"]


def test_tenant_templates_render_with_the_alert_context(receivers):
    config = alerting(severities={"critical": ["hook"]}, templates={"failure": {
        "subject": "{{ tenant | upper }}/{{ pipeline }} broke in {{ task_id }}",
        "body": "run {{ run_id }}: {{ error }}{% for k, v in counts.items() %} {{ k }}={{ v }}{% endfor %}"}})
    outcome = deliver(route(Alert(**{**failure().context(), "counts": {"rows": 7}}), config), {})
    assert outcome["hook"] == "sent", outcome
    body = receivers.to("/alerts/retail")[0]["body"]
    assert body["subject"] == "[critical][retail] RETAIL/products broke in extract"
    assert body["text"] == "run manual__1: ValueError: products.json, line 2: '…' is not a valid int64 rows=7"


def test_a_template_that_breaks_the_sandbox_falls_back_to_the_default(receivers):
    config = alerting(severities={"critical": ["hook"]}, templates={"failure": {
        "body": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}})
    assert deliver(route(failure(), config), {}) == {"hook": "sent"}  # the alert still goes out...
    text = receivers.to("/alerts/retail")[0]["body"]["text"]
    assert "subclasses" not in text and "Task: extract" in text  # ...with the default text, not Python internals

