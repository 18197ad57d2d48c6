"""PII through a real DAG run: finance customers' emails land hashed with the tenant's key, never in logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli
from e2e.helpers import open_table, run_dag

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customers_run(airflow_db, demo_sources):
    run_cli("tenantflow", "sync")
    result = run_dag("finance__customers", "2026-11-21")
    assert "state=success" in result.stdout + result.stderr
    return result.stdout + result.stderr


def _source_emails() -> list[str]:
    erp = Path(os.environ["TENANTFLOW_HOME"]) / "sources" / "finance" / "erp.db"
    with sqlite3.connect(erp) as conn:
        return [row[0] for row in conn.execute("SELECT email FROM customers")]


def test_emails_are_hashed_with_the_tenants_key(customers_run):
    key = json.loads(os.environ["AIRFLOW_CONN_FINANCE__PII"])["password"].encode()
    expected = sorted(hmac.new(key, e.encode(), hashlib.sha256).hexdigest() for e in _source_emails())
    table = open_table("finance.customers").scan().to_arrow()
    assert sorted(table["email"].to_pylist()) == expected


def test_classification_and_masking_are_recorded_on_the_table(customers_run):
    table = open_table("finance.customers")
    assert table.properties["tenantflow.classification"] == "restricted"
    assert table.properties["tenantflow.column.email.masking"] == "hash"
    assert table.properties["tenantflow.column.email.pii"] == "email"


def test_no_email_appears_in_the_run_output(customers_run):
    leaked = [e for e in _source_emails() if e in customers_run]
    assert leaked == [], f"{len(leaked)} raw emails in task logs/XCom output"
