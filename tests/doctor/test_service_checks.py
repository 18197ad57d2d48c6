"""Databricks workspace (the local Jobs API stand-in), the PII key and isolation of connection ids."""

from __future__ import annotations

import json

import pytest
from doctor_tree import DATABRICKS_CLUSTER, EchoingWorkspace, bundle, sql_source

from demo.jobs_api import LocalJobsApi
from sources.local_http import serve
from tenantflow.doctor.checks import run_checks
from tenantflow.doctor.result import Status

TOKEN = "dapi-workspace-token-not-to-print"
PII_KEY = "acme-pii-hmac-key-0123456789abcdef"


def _line(report, check, subject):
    found = [r for r in report.results if (r.check, r.subject) == (check, subject)]
    assert len(found) == 1, f"one {check} line for {subject}, got {report.results}"
    return found[0]


def _databricks_tenant(tmp_path):
    return bundle(tmp_path, {"orders": {**sql_source("acme__erp"), "engine": "databricks"}},
                  databricks=DATABRICKS_CLUSTER)


def test_databricks_workspace_answers_an_authenticated_get(tmp_path, monkeypatch):
    with LocalJobsApi() as api:
        monkeypatch.setenv("AIRFLOW_CONN_ACME__DATABRICKS", api.connection_uri_json(TOKEN))
        report = run_checks(_databricks_tenant(tmp_path), str(tmp_path / "home"), timeout=3)
    line = _line(report, "databricks", "acme__databricks")
    assert line.status == Status.OK, line
    assert line.detail == "databricks of orders: workspace 127.0.0.1 answers an authenticated GET (jobs/list)"
    assert [(r.method, r.path, r.headers.get("Authorization")) for r in api.requests] == [
        ("GET", "/api/2.2/jobs/list", f"Bearer {TOKEN}")], "one cheap GET, with the connection's token"
    assert not api.submits(), "the doctor never submits a run"


def test_a_refused_token_fails_and_is_never_printed_even_when_the_server_quotes_it(tmp_path, monkeypatch):
    with serve(EchoingWorkspace) as url:
        port = int(url.rsplit(":", 1)[1])
        monkeypatch.setenv("AIRFLOW_CONN_ACME__DATABRICKS", json.dumps(
            {"conn_type": "databricks", "host": "127.0.0.1", "port": port, "schema": "http", "password": TOKEN}))
        report = run_checks(_databricks_tenant(tmp_path), str(tmp_path / "home"), timeout=3)
    line = _line(report, "databricks", "acme__databricks")
    assert line.status == Status.FAIL and "jobs/list failed" in line.detail and "403" in line.detail
    assert "token Bearer *** may not list jobs" in line.detail, "the quoted token is masked, the message kept"
    assert "check the host and token of `acme__databricks`" in line.hint
    assert TOKEN not in repr(report)


def test_pii_key_missing_weak_or_present(tmp_path, monkeypatch):
    hashing = {"pii": {"columns": {"email": {"method": "hash"}}}}
    pipelines = {"customers": {**sql_source("acme__erp"), **hashing},
                 "leads": {**sql_source("acme__erp"), "pii": {**hashing["pii"], "secret_connection": "acme__weak"}},
                 "people": {**sql_source("acme__erp"), "pii": {**hashing["pii"], "secret_connection": "acme__hmac"}}}
    monkeypatch.setenv("AIRFLOW_CONN_ACME__WEAK", json.dumps({"conn_type": "generic", "password": "short-key"}))
    monkeypatch.setenv("AIRFLOW_CONN_ACME__HMAC", json.dumps({"conn_type": "generic", "password": PII_KEY}))
    report = run_checks(bundle(tmp_path, pipelines), str(tmp_path / "home"))

    missing = _line(report, "pii key", "acme__pii")
    assert missing.status == Status.FAIL and missing.detail == "pii of customers: connection does not exist"
    assert "airflow connections add acme__pii --conn-type generic" in missing.hint
    weak = _line(report, "pii key", "acme__weak")
    assert weak.status == Status.FAIL and "shorter than 16 bytes" in weak.hint
    present = _line(report, "pii key", "acme__hmac")
    assert present.status == Status.OK and "value not shown" in present.detail
    assert PII_KEY not in repr(report) and "short-key" not in repr(report)


def test_no_hashing_no_databricks_means_those_lines_are_skipped(tmp_path):
    report = run_checks(bundle(tmp_path, {"orders": sql_source("acme__erp")}), str(tmp_path / "home"))
    assert _line(report, "pii key", "acme__pii").status == Status.SKIP
    assert _line(report, "databricks", "acme__databricks").status == Status.SKIP


def test_another_tenants_connection_fails_isolation_and_is_not_looked_up(tmp_path, monkeypatch):
    # the loader refuses a foreign pii.secret_connection; the doctor holds the line too (defence in depth), so
    # the bundle is altered after loading
    import dataclasses

    from tenantflow.config.errors import ConfigErrors

    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__PII", json.dumps({"conn_type": "generic", "password": "r" * 40}))
    foreign = {"customers": {**sql_source("acme__erp"),
                             "pii": {"columns": {"email": {"method": "hash"}}, "secret_connection": "retail__pii"}}}
    with pytest.raises(ConfigErrors, match="pii.secret_connection"):
        bundle(tmp_path / "refused", foreign)
    own = {"customers": {**sql_source("acme__erp"),
                         "pii": {"columns": {"email": {"method": "hash"}}, "secret_connection": "acme__pii"}}}
    loaded = bundle(tmp_path, own)
    (pipeline,) = loaded.pipelines
    altered = pipeline.model_copy(update={"pii": pipeline.pii.model_copy(update={"secret_connection": "retail__pii"})})
    report = run_checks(dataclasses.replace(loaded, pipelines=(altered,)), str(tmp_path / "home"))
    isolation = _line(report, "isolation", "retail__pii")
    assert isolation.status == Status.FAIL and isolation.pipelines == ("customers",)
    assert "tenant 'acme' may not use connection 'retail__pii'" in isolation.detail
    assert "named 'acme__<name>'" in isolation.hint
    assert not [r for r in report.results if r.check == "pii key" and r.subject == "retail__pii"], \
        "another tenant's connection is never looked up, so no pii key line reports on it"
    assert report.failed


def test_whatever_a_check_logs_or_prints_is_scrubbed_and_kept_off_stdout(capsys):
    import logging

    from tenantflow.doctor.redaction import Redactor

    redactor = Redactor()
    redactor.remember({"password": TOKEN, "extra": {"client_secret": PII_KEY, "region": "eu"}})
    handler = logging.StreamHandler()  # stderr, as the tenantflow command's
    logging.getLogger().addHandler(handler)
    try:
        with redactor.scrubbing_output():
            print(f"structlog-style line with {TOKEN}")
            logging.getLogger("airflow.task.hooks").warning("request failed: %s / %s", TOKEN, PII_KEY)
    finally:
        logging.getLogger().removeHandler(handler)
    out, err = capsys.readouterr()
    assert out == "", "stdout is the report only"
    assert TOKEN not in err and PII_KEY not in err
    assert "structlog-style line with ***" in err and "request failed: *** / ***" in err
    assert redactor.scrub("region eu") == "region eu", "values shorter than 3 characters are left alone"
