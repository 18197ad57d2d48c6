"""The real `tenantflow doctor` command, connections given as AIRFLOW_CONN_* variables, in a subprocess."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest
from doctor_tree import DATABRICKS_CLUSTER, EchoingWorkspace, http_source, own_database, sql_source, write_tree

from conftest import run_cli
from demo.jobs_api import LocalJobsApi
from sources.local_http import serve

PG_PASSWORD = "pg-cli-Pa55word-not-to-print"
API_TOKEN = "api-cli-t0ken-not-to-print"
WORKSPACE_TOKEN = "dapi-cli-token-not-to-print"
PII_KEY = "acme-cli-pii-key-0123456789abcdef"
SECRETS = (PG_PASSWORD, API_TOKEN, WORKSPACE_TOKEN, PII_KEY)


@pytest.fixture(scope="module")
def database():
    with own_database("command") as name:
        yield name


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):  # noqa: N802 - http.server's API
        self.send_response(200 if self.headers.get("Authorization") == f"Bearer {API_TOKEN}" else 401)
        self.end_headers()


@pytest.fixture
def platform(tmp_path, database):
    """A tenant with a PostgreSQL source that hashes PII, an HTTP source and a Databricks pipeline."""
    config_dir = write_tree(tmp_path, {
        "customers": {**sql_source("acme__erp", "customers"), "pii": {"columns": {"email": {"method": "hash"}}}},
        "items": http_source("acme__api"),
        "orders": {**sql_source("acme__erp"), "engine": "databricks"},
    }, databricks=DATABRICKS_CLUSTER)
    with serve(Api) as api_url, LocalJobsApi() as workspace:
        host, port = api_url.removeprefix("http://").split(":")
        yield {
            "TENANTFLOW_CONFIG_DIR": str(config_dir),
            "TENANTFLOW_HOME": str(tmp_path / "home"),
            "AIRFLOW_CONN_ACME__ERP": json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 5432,
                                                  "login": "postgres", "password": PG_PASSWORD, "schema": database}),
            "AIRFLOW_CONN_ACME__API": json.dumps({"conn_type": "http", "host": host, "port": int(port),
                                                  "schema": "http", "password": API_TOKEN}),
            "AIRFLOW_CONN_ACME__DATABRICKS": workspace.connection_uri_json(WORKSPACE_TOKEN),
            "AIRFLOW_CONN_ACME__PII": json.dumps({"conn_type": "generic", "password": PII_KEY}),
        }


def _no_secret_in(result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr, "a secret value was printed"


def test_a_ready_tenant_passes_and_no_secret_is_printed(platform, database):
    result = run_cli("tenantflow", "doctor", "acme", env=platform, timeout=120)
    lines = result.stdout.splitlines()
    assert lines[0] == "OK    isolation   acme: all 4 connection id(s) are the tenant's own: acme__api, " \
                       "acme__databricks, acme__erp, acme__pii"
    assert f"OK    source      acme__erp: sql of customers, orders: postgresql 127.0.0.1:5432/{database} answers " \
           "SELECT 1" in lines
    assert any(line.startswith("OK    databricks  acme__databricks: databricks of orders: workspace") for line in lines)
    assert "OK    pii key     acme__pii: pii of customers: PII key present and long enough to hash with " \
           "(value not shown)" in lines
    assert lines[-1] == "tenant 'acme': ready (7 checks: 6 OK, 1 WARN)", result.stdout  # catalog: sync not run yet
    _no_secret_in(result)


def test_failures_exit_1_in_text_and_json_without_secrets(platform):
    with serve(EchoingWorkspace) as echoing:  # refuses the token and quotes it back in its error
        port = int(echoing.rsplit(":", 1)[1])
        broken = {**platform,
                  "AIRFLOW_CONN_ACME__API": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 9,
                                                        "schema": "http", "password": API_TOKEN}),
                  "AIRFLOW_CONN_ACME__DATABRICKS": json.dumps({"conn_type": "databricks", "host": "127.0.0.1",
                                                               "port": port, "schema": "http",
                                                               "password": WORKSPACE_TOKEN})}
        del broken["AIRFLOW_CONN_ACME__PII"]
        text = run_cli("tenantflow", "doctor", "acme", "--timeout", "2", env=broken, check=False, timeout=120)
        report = run_cli("tenantflow", "doctor", "acme", "--json", "--timeout", "2", env=broken, check=False,
                         timeout=120)
    assert text.returncode == 1, text.stdout + text.stderr
    assert "FAIL  pii key     acme__pii: pii of customers: connection does not exist" in text.stdout
    assert "hint: create the Airflow connection `acme__pii`" in text.stdout
    assert "FAIL  source      acme__api: http of items: http://127.0.0.1:9: no answer: ConnectError" in text.stdout
    assert "token Bearer *** may not list jobs" in text.stdout
    _no_secret_in(text)

    assert report.returncode == 1
    data = json.loads(report.stdout)
    assert data["tenant"] == "acme" and data["ok"] is False
    statuses = {(c["check"], c["subject"]): c["status"] for c in data["checks"]}
    assert statuses[("pii key", "acme__pii")] == "FAIL" and statuses[("source", "acme__erp")] == "OK"
    assert statuses[("catalog", "local:acme")] == "WARN"
    _no_secret_in(report)


def test_unknown_or_invalid_tenant_is_one_line_and_exit_1(platform, tmp_path):
    unknown = run_cli("tenantflow", "doctor", "nobody", env=platform, check=False)
    assert unknown.returncode == 1
    assert unknown.stdout.strip().endswith("(known tenants: acme)")
    (tmp_path / "tenant_configs" / "acme" / "pipelines" / "items.yaml").write_text("source: {kind: ftp}\n")
    invalid = run_cli("tenantflow", "doctor", "acme", env=platform, check=False)
    assert invalid.returncode == 1
    assert len(invalid.stdout.strip().splitlines()) == 1, invalid.stdout
    assert invalid.stdout.startswith("tenantflow doctor: tenant 'acme' has an invalid config: ")
    assert "items.yaml" in invalid.stdout and "run `tenantflow validate acme`" in invalid.stdout
