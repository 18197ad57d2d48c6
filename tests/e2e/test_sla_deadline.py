"""A missed SLA under a real scheduler and triggerer: the pipeline's `sla.max_duration` is an Airflow
deadline alert; when a run is still unfinished at its deadline, the scheduler queues the callback, the
triggerer runs it, and the `sla_miss` alert reaches the tenant's webhook (a local server)."""

from __future__ import annotations

import json
import time

import pytest

from conftest import copy_config_tree
from isolation.stack import Stack, drop_database, fresh_database
from notifications.receivers import start

pytestmark = pytest.mark.e2e

ALERTING = """alerting:
  targets:
    hook: {kind: webhook, connection: retail__hook, endpoint: retail/sla}
  events: {sla_miss: critical}
  severities: {critical: [hook]}
"""


def test_a_run_past_its_max_duration_alerts_sla_miss(tmp_path):
    copy_config_tree(tmp_path)
    tenant = tmp_path / "tenant_configs" / "retail" / "tenant.yaml"
    text = tenant.read_text()
    tenant.write_text(text[: text.index("alerting:")] + ALERTING)
    products = tmp_path / "tenant_configs" / "retail" / "pipelines" / "products.yaml"
    products.write_text(products.read_text() + "sla: {max_duration: 3s}\n")
    receivers, stop = start()
    db = fresh_database("sla")
    # No `tenantflow sync`: the tenant's pool does not exist, so the run's first task is never scheduled and
    # the run stays running past its deadline — a stuck run, the case a max-duration SLA is for.
    stack = Stack(tmp_path, db, TENANTFLOW_CONFIG_DIR=str(tmp_path / "tenant_configs"),
                  AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"), **receivers.connections("retail"))
    try:
        stack.cli("airflow", "db", "migrate")
        stack.cli("airflow", "dags", "reserialize")
        stack.start_api_server()
        stack.start("scheduler", "scheduler")
        stack.start("triggerer", "triggerer")
        stack.cli("airflow", "dags", "unpause", "retail__products")
        stack.cli("airflow", "dags", "trigger", "retail__products")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not receivers.to("/retail/sla"):
            time.sleep(1)
        alerts = receivers.to("/retail/sla")
        assert alerts, f"no sla_miss alert\nscheduler:\n{stack.log_tail('scheduler')}\n" \
                       f"triggerer:\n{stack.log_tail('triggerer')}"
        body = alerts[0]["body"]
        assert (body["event"], body["severity"], body["dag_id"]) == ("sla_miss", "critical", "retail__products")
        assert body["counts"]["sla"] == "max_duration 3s" and body["run_id"].startswith("manual__")
        assert body["subject"] == "[critical][retail] retail__products: SLA missed (max_duration 3s)"
        assert "ann" not in json.dumps(body)
    finally:
        stack.stop()
        stop()
        drop_database(db)
