"""Real DAG runs (`airflow dags test`) alert local receivers: failure, escalation after N failed runs in a
row (counted in an Airflow Variable through the task SDK), quality warnings, success — and a receiver
that is down does not fail the run."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from e2e.helpers import run_dag
from notifications.receivers import start

pytestmark = pytest.mark.e2e

RETAIL_ALERTING = """alerting:
  targets:
    team_slack: {kind: slack, connection: retail__slack}
    oncall_mail: {kind: smtp, connection: retail__smtp, to: [retail-oncall@example.com]}
    hook: {kind: webhook, connection: retail__hook, endpoint: retail/alerts}
    down: {kind: webhook, connection: retail__hook, endpoint: broken}
  events: {failure: critical, quality_warning: warning, success: info, escalation: critical}
  severities:
    critical: [team_slack, down]
    warning: [oncall_mail]
    info: [hook]
  escalation: {after_failures: 2}
retries: {retries: 0, retry_delay_seconds: 1, exponential_backoff: false, max_retry_delay_seconds: 1}
"""


@pytest.fixture
def alerting_tree(config_tree, tmp_path, airflow_db):
    from demo.data import generate_demo_data

    home = tmp_path / "home"
    generate_demo_data(home, scale=0.01)
    tenant = config_tree / "tenant_configs" / "retail" / "tenant.yaml"
    text = tenant.read_text()
    tenant.write_text(text[: text.index("alerting:")] + RETAIL_ALERTING)
    products = config_tree / "tenant_configs" / "retail" / "pipelines" / "products.yaml"
    products.write_text(products.read_text().replace(
        "    values: [grocery, apparel, electronics, home]\n", "    values: [grocery, apparel]\n    severity: warn\n"))
    receivers, stop = start()
    env = {"TENANTFLOW_CONFIG_DIR": str(config_tree / "tenant_configs"), "TENANTFLOW_HOME": str(home),
           "AIRFLOW__CORE__DAGS_FOLDER": str(config_tree / "dags"), **receivers.connections("retail"),
           "AIRFLOW_CONN_PLATFORM__ONCALL_PAGERDUTY": json.dumps(
               {"conn_type": "pagerduty_events", "host": f"http://127.0.0.1:{receivers.http_port}/pagerduty",
                "password": "platform-oncall-key"})}
    run_cli("airflow", "variables", "delete", "tenantflow_alerting__retail__products", check=False)
    yield env, products, receivers
    stop()


def slack_texts(receivers) -> list[str]:
    return [r["body"]["text"] for r in receivers.to("/slack-hooks")]


def test_failures_escalate_then_success_resets(alerting_tree):
    env, products, receivers = alerting_tree
    good = products.read_text()
    products.write_text(good.replace("path: sources/retail/products.json", "path: sources/retail/missing.json"))

    first = run_dag("retail__products", "2026-11-20", env=env, check=False)
    assert "state=failed" in first.stdout + first.stderr
    (text,) = slack_texts(receivers)
    assert text.startswith("*[critical][retail] retail__products: task extract failed*")
    assert "consecutive_failures: 1" in text
    assert receivers.to("/pagerduty") == []  # 1 failed run < after_failures
    assert len(receivers.to("/broken")) == 1  # the receiver that is down was tried; the run's state is its own

    run_dag("retail__products", "2026-11-21", env=env, check=False)
    assert "consecutive_failures: 2" in slack_texts(receivers)[-1]
    (page,) = receivers.to("/pagerduty/v2/enqueue")  # the platform's on-call, with the platform's key
    assert page["body"]["routing_key"] == "platform-oncall-key"
    assert page["body"]["payload"]["summary"] == \
        "[critical][retail] retail__products: 2 failed runs in a row (tenant retail)"
    assert page["body"]["payload"]["class"] == "escalation"

    products.write_text(good)
    ok = run_dag("retail__products", "2026-11-22", env=env)
    assert "state=success" in ok.stdout + ok.stderr
    (warning,) = receivers.mails  # quality_warning -> warning -> e-mail, sent from the quality task
    assert "Subject: [warning][retail] retail__products: 1 quality warning(s)" in " ".join(warning["data"].split())
    (success,) = receivers.to("/retail/alerts")  # success -> info -> webhook (DAG on_success_callback)
    assert success["body"]["event"] == "success" and success["body"]["severity"] == "info"
    got = run_cli("airflow", "variables", "get", "tenantflow_alerting__retail__products", env=env, check=False)
    value = got.stdout[got.stdout.find("{"):]
    assert got.returncode == 0 and json.loads(value)["failures"] == 0, (got.stdout + got.stderr)[-3000:]
    # ...the successful run reset the count
