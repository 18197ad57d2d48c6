"""Source connections answer (or say what to do): PostgreSQL, a local HTTP API, local folders and moto S3."""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest
from doctor_tree import bundle, closed_port, files_source, http_source, own_database, sql_source

from sources.local_http import serve
from tenantflow.doctor.checks import run_checks
from tenantflow.doctor.result import Status

PASSWORD = "pg-Pa55word-not-to-print"
TOKEN = "api-t0ken-not-to-print"


@pytest.fixture(scope="module")
def database():
    with own_database("sources") as name:
        yield name


def _pg(monkeypatch, conn_id: str, database: str, port: int = 5432) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": "postgres", "password": PASSWORD,
        "schema": database}))


def _result(report, subject):
    found = [r for r in report.results if r.subject == subject]
    assert len(found) == 1, f"one line for {subject}, got {report.results}"
    return found[0]


def test_postgres_database_answers_or_the_line_says_what_is_wrong(tmp_path, monkeypatch, database):
    _pg(monkeypatch, "acme__erp", database)
    _pg(monkeypatch, "acme__gone", f"{database}_missing")
    _pg(monkeypatch, "acme__closed", database, port=closed_port())
    b = bundle(tmp_path, {"orders": sql_source("acme__erp"), "old": sql_source("acme__gone"),
                          "shut": sql_source("acme__closed")})
    report = run_checks(b, str(tmp_path / "home"), timeout=3)

    ok = _result(report, "acme__erp")
    assert (ok.status, ok.check) == (Status.OK, "source")
    assert f"postgresql 127.0.0.1:5432/{database} answers SELECT 1" in ok.detail
    missing_db = _result(report, "acme__gone")
    assert missing_db.status == Status.FAIL and f'database "{database}_missing" does not exist' in missing_db.detail
    assert "check host, port, database (schema) and login of `acme__gone`" in missing_db.hint
    closed = _result(report, "acme__closed")
    assert closed.status == Status.FAIL and "SELECT 1 failed" in closed.detail and "refused" in closed.detail
    assert report.failed
    assert PASSWORD not in repr(report)


def test_missing_connection_fails_with_how_to_create_it(tmp_path):
    report = run_checks(bundle(tmp_path, {"orders": sql_source("acme__nowhere")}), str(tmp_path / "home"))
    line = _result(report, "acme__nowhere")
    assert line.status == Status.FAIL and line.detail == "sql of orders: connection does not exist"
    assert line.hint.startswith("create the Airflow connection `acme__nowhere` (the source database")
    assert line.hint.endswith("in Admin → Connections, or the secrets backend path airflow/connections/acme__nowhere")


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):  # noqa: N802 - http.server's API
        ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        self.send_response(200 if ok else 401)
        self.end_headers()


def _http(monkeypatch, conn_id: str, url: str, token: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": token}))


def test_http_api_answers_with_the_tokens_auth(tmp_path, monkeypatch):
    with serve(Api) as url:
        _http(monkeypatch, "acme__api", url, TOKEN)
        _http(monkeypatch, "acme__wrongkey", url, "not-the-token")
        _http(monkeypatch, "acme__down", f"http://127.0.0.1:{closed_port()}", TOKEN)
        b = bundle(tmp_path, {"items": http_source("acme__api"), "stale": http_source("acme__wrongkey"),
                              "down": http_source("acme__down")})
        report = run_checks(b, str(tmp_path / "home"), timeout=3)
    assert _result(report, "acme__api").status == Status.OK
    assert f"{url} answers HTTP 200" in _result(report, "acme__api").detail
    refused = _result(report, "acme__wrongkey")
    assert refused.status == Status.FAIL and "credentials refused (HTTP 401)" in refused.detail
    down = _result(report, "acme__down")
    assert down.status == Status.FAIL and "no answer: ConnectError" in down.detail
    assert TOKEN not in repr(report)


def test_a_host_that_never_answers_costs_the_timeout_not_a_hang(tmp_path, monkeypatch, database):
    with socket.socket() as silent:  # accepts TCP (backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        _http(monkeypatch, "acme__silent", f"http://127.0.0.1:{port}", TOKEN)
        _pg(monkeypatch, "acme__silentdb", database, port=port)
        b = bundle(tmp_path, {"items": http_source("acme__silent"), "orders": sql_source("acme__silentdb")})
        started = time.monotonic()
        report = run_checks(b, str(tmp_path / "home"), timeout=1)
        elapsed = time.monotonic() - started
    assert _result(report, "acme__silent").status == Status.FAIL
    assert "timed out" in _result(report, "acme__silent").detail.lower()
    assert _result(report, "acme__silentdb").status == Status.FAIL
    assert elapsed < 10, f"two silent hosts took {elapsed:.1f}s with a 1s timeout"


def test_local_files_folder_matches_and_missing(tmp_path):
    home = tmp_path / "home"
    (home / "sources" / "acme" / "fx").mkdir(parents=True)
    (home / "sources" / "acme" / "fx" / "2026-11.csv").write_text("quote,rate\nUSD,1.1\n")
    (home / "sources" / "acme" / "empty").mkdir()
    b = bundle(tmp_path, {"fx_rates": files_source("sources/acme/fx/*.csv"),
                          "later": files_source("sources/acme/empty/*.csv"),
                          "typo": files_source("sources/acme/fxx/*.csv")})
    report = run_checks(b, str(home))
    fx = _result(report, str(home / "sources/acme/fx/*.csv"))
    assert fx.status == Status.OK and "1 file(s) match" in fx.detail
    later = _result(report, str(home / "sources/acme/empty/*.csv"))
    assert later.status == Status.WARN and "no files match" in later.hint
    typo = _result(report, str(home / "sources/acme/fxx/*.csv"))
    assert typo.status == Status.FAIL and f"folder {home / 'sources/acme/fxx'} does not exist" in typo.detail


@pytest.fixture(scope="module")
def s3(moto_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-doctor-drops")
    client.put_object(Bucket="acme-doctor-drops", Key="sales/2026-11-01.csv", Body=b"id\n1\n")
    return moto_endpoint


def test_s3_bucket_listable_through_the_tenants_connection(tmp_path, monkeypatch, s3):
    secret_key = "aws-secret-not-to-print"
    monkeypatch.setenv("AIRFLOW_CONN_ACME__DROPS", json.dumps({
        "conn_type": "aws", "login": "testing", "password": secret_key,
        "extra": json.dumps({"endpoint_url": s3, "region_name": "us-east-1"})}))
    b = bundle(tmp_path, {"sales": files_source("s3://acme-doctor-drops/sales/*.csv", "acme__drops"),
                          "none": files_source("s3://acme-doctor-drops/returns/*.csv", "acme__drops"),
                          "gone": files_source("s3://acme-doctor-nobucket/sales/*.csv", "acme__drops")})
    report = run_checks(b, str(tmp_path / "home"))
    by_pipeline = {r.pipelines: r for r in report.results if r.check == "source"}
    assert by_pipeline[("sales",)].status == Status.OK
    assert "s3://acme-doctor-drops/sales/ is listable, 1 object(s) match" in by_pipeline[("sales",)].detail
    assert by_pipeline[("none",)].status == Status.WARN
    gone = by_pipeline[("gone",)]
    assert gone.status == Status.FAIL
    assert "bucket acme-doctor-nobucket does not exist (as seen with connection `acme__drops`)" in gone.detail
    assert secret_key not in repr(report)


def test_a_check_stuck_past_its_deadline_is_abandoned():
    from tenantflow.doctor.checks import CheckTimeout, within

    started = time.monotonic()
    with pytest.raises(CheckTimeout, match=r"no answer within 0.2s"):
        within(0.2, lambda: time.sleep(5))
    assert time.monotonic() - started < 1
    assert within(1, lambda: 42) == 42
