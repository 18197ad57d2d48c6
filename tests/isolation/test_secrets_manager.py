"""Per-tenant secrets from AWS Secrets Manager (a moto server), through Airflow's secrets backend.

Airflow's ``SecretsManagerBackend`` is configured as helm-values/values.yaml documents:
connection ``<tenant>__<name>`` is the secret ``airflow/connections/<tenant>__<name>``, so an
IAM policy on ``airflow/connections/<tenant>__*`` scopes each tenant's secrets. The hook runs
in a fresh process (Airflow reads its secrets configuration once per process): a finance
hook resolves ``finance__erp`` from Secrets Manager and reads the source through it, refuses
``retail__erp`` before any lookup, and the password it read is masked in the task's log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

pytestmark = pytest.mark.e2e

PASSWORD = "erp-Pa55word-finance-7f3c"

HOOK_SCRIPT = """
import json, logging, sys
import sqlalchemy
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.sql import SqlSourceHook

from airflow.sdk.log import configure_logging

configure_logging(output=sys.stdout, colored_console_log=False)  # as the task runner sets up a task's log
log = logging.getLogger("airflow.task")
hook = SqlSourceHook(tenant_id="finance", connection_id="finance__erp")
conn = hook.get_connection("finance__erp")
url = hook.url_text()
with sqlalchemy.create_engine(url).connect() as db:
    rows = db.execute(sqlalchemy.text("SELECT count(*) FROM customers")).scalar()
log.info("resolved finance__erp: login=%s password=%s", conn.login, conn.password)
try:
    SqlSourceHook(tenant_id="finance", connection_id="retail__erp")
    refused = None
except TenantIsolationError as exc:
    refused = str(exc)
from airflow.sdk._shared.secrets_masker import redact
print("RESULT " + json.dumps({"rows": rows, "password_seen": conn.password == sys.argv[1],
      "redacted": redact(sys.argv[1]), "refused": refused}))
"""


@pytest.fixture
def secrets_manager():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint, boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    server.stop()


def _helm_secrets_config(repo: Path) -> dict[str, str]:
    values = yaml.safe_load((repo / "helm-values" / "values.yaml").read_text())
    return values["config"]["secrets"]


def test_finance_hook_resolves_its_secret_refuses_retail_and_masks_the_password(
    secrets_manager, demo_sources, repo: Path
):
    endpoint, client = secrets_manager
    erp = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "finance" / "erp.db"
    client.create_secret(Name="airflow/connections/finance__erp", SecretString=json.dumps(
        {"conn_type": "sqlite", "host": str(erp), "login": "finance_reader", "password": PASSWORD}))
    client.create_secret(Name="airflow/connections/retail__erp", SecretString=json.dumps(
        {"conn_type": "sqlite", "host": "/nonexistent/retail.db", "password": "retail-secret"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    secrets = _helm_secrets_config(repo)  # the documented deployment settings, pointed at moto
    env.update({
        "AIRFLOW__SECRETS__BACKEND": secrets["backend"],
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {**json.loads(secrets["backend_kwargs"]), "endpoint_url": endpoint, "region_name": "us-east-1"}),
    })
    result = subprocess.run([sys.executable, "-c", HOOK_SCRIPT, PASSWORD], env=env, capture_output=True,
                            text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    outcome = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    customers = demo_sources.get("finance.customers") or demo_sources.get("customers")
    assert outcome["password_seen"] is True, outcome
    assert outcome["rows"] > 0 and (customers is None or outcome["rows"] == customers), (outcome, demo_sources)
    assert outcome["refused"] and "retail__erp" in outcome["refused"], outcome
    assert outcome["redacted"] == "***", "the password read from Secrets Manager is not registered for masking"
    log_line = next(line for line in result.stdout.splitlines() if "resolved finance__erp" in line)
    assert PASSWORD not in output and "password=***" in log_line, log_line
