"""`tenantflow sync` and `tenantflow compliance` on a migrated metadata DB (SQLite) and a SQL catalog in tmp:
sync changes to a tenant's roles, users and pool land in its audit trail with the CLI user as actor (a dry run
records nothing); `tenantflow audit` reads them (table, JSON, CSV, filters); the compliance report of the demo
tenant finance shows classification, masking, retention vs bound, the access review from the DB and the
period's audit events. The report is also written to test-artifacts/audit/ (the README's example)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from conftest import REPO, copy_config_tree, run_cli
from tenantflow.audit.records import AuditRecord

PII_KEY = "finance-audit-test-hmac-key-0123456789"
RUN = "manual__2026-12-06T09:00:00+00:00"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("audit-sync")
    copy_config_tree(root)
    env = {"TENANTFLOW_CONFIG_DIR": str(root / "tenant_configs"), "TENANTFLOW_HOME": str(root / "home"),
           "TENANTFLOW_DAGS_DIR": str(root / "dags" / "tenants"), "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{root / 'airflow.db'}",
           "AIRFLOW_CONN_FINANCE__PII": json.dumps({"conn_type": "generic", "password": PII_KEY})}
    run_cli("airflow", "db", "migrate", env=env)
    first = run_cli("tenantflow", "sync", "--operator", "ops-ann", env=env).stdout
    return {"root": root, "env": env, "first_sync": first}


def audit(world: dict, tenant: str, *args: str) -> list[dict]:
    out = run_cli("tenantflow", "audit", tenant, *args, "--format", "json", env=world["env"]).stdout
    return json.loads(out[out.index("["):])


def test_sync_records_each_tenants_pool_roles_and_users_with_the_cli_user(world):
    records = audit(world, "finance", "--action", "sync.*")
    kinds = {(r["action"], r["target"]) for r in records}
    assert {("sync.create_pool", "tenant_finance"), ("sync.create_role", "finance_admin"),
            ("sync.grant", "finance_engineer"), ("sync.create_user", "finance_steward")} <= kinds
    assert {r["actor"] for r in records} == {"cli:ops-ann"}
    assert not [r for r in records if "retail" in r["target"] or r["target"].startswith("platform_")]
    grant = next(r for r in records if r["action"] == "sync.grant" and r["target"] == "finance_engineer")
    assert "can_read on DAG:finance__orders" in grant["details"]["permissions"]


def test_a_role_change_is_recorded_once_and_a_dry_run_records_nothing(world):
    tenant_yaml = Path(world["env"]["TENANTFLOW_CONFIG_DIR"]) / "finance" / "tenant.yaml"
    text = tenant_yaml.read_text()
    tenant_yaml.write_text(text.replace("analysts: [finance_analyst]", "analysts: [finance_analyst, fin_newbie]")
                           .replace("stewards: [finance_steward]", "stewards: [finance_steward, finance_engineer]")
                           .replace("pool_slots: 4", "pool_slots: 6"))
    before = audit(world, "finance")
    run_cli("tenantflow", "sync", "--dry-run", "--operator", "ops-ann", env=world["env"])
    assert audit(world, "finance") == before, "a dry run wrote audit records"
    run_cli("tenantflow", "sync", "--operator", "ops-bob", env=world["env"])
    new = [r for r in audit(world, "finance") if r["event_id"] not in {b["event_id"] for b in before}]
    assert {(r["action"], r["target"], r["actor"]) for r in new} == {
        ("sync.create_user", "fin_newbie", "cli:ops-bob"),
        ("sync.add_user_role", "finance_engineer", "cli:ops-bob"),
        ("sync.update_pool", "tenant_finance", "cli:ops-bob")}
    assert next(r for r in new if r["action"] == "sync.update_pool")["details"]["detail"] == "slots 4 -> 6"
    assert not [r for r in audit(world, "retail") if r["actor"] == "cli:ops-bob"], "retail got finance's changes"
    run_cli("tenantflow", "sync", "--operator", "ops-bob", env=world["env"])  # in sync: nothing new
    assert len(audit(world, "finance")) == len(before) + 3


def test_the_audit_command_filters_and_prints_table_and_csv(world):
    env = world["env"]
    table = run_cli("tenantflow", "audit", "finance", "--action", "sync.create_pool", env=env).stdout
    assert "TIME (UTC)" in table and "cli:ops-ann" in table and "tenant_finance" in table and "1 record(s)" in table
    rows = list(csv.DictReader(io.StringIO(run_cli("tenantflow", "audit", "finance", "--format", "csv",
                                                   env=env).stdout)))
    assert rows and {"at", "actor", "action", "target", "details", "event_id"} <= set(rows[0])
    assert audit(world, "finance", "--from", "2020-01-01", "--to", "2020-01-31") == []
    bad = run_cli("tenantflow", "audit", "finance", "--from", "yesterday", env=env, check=False)
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def _load_customers(world: dict, monkeypatch) -> None:
    from tenantflow.config.loader import load_tenant
    from tenantflow.landing.store import LandingHook
    from tenantflow.operators.load import IcebergLoadOperator
    from tenantflow.pipeline_context import PipelineContext

    for key, value in world["env"].items():
        monkeypatch.setenv(key, value)
    bundle = load_tenant(Path(world["env"]["TENANTFLOW_CONFIG_DIR"]), "finance")
    ctx = PipelineContext(bundle.tenant, bundle.pipeline("customers"), bundle.platform, world["env"]["TENANTFLOW_HOME"])
    raw = LandingHook(ctx.batch(RUN))
    batch = pa.table({"customer_id": pa.array(range(30), pa.int64()), "name": [f"N{i}" for i in range(30)],
                      "email": [f"c{i}@example.com" for i in range(30)], "country": ["DE"] * 30,
                      "segment": ["sme"] * 30, "created_at": ["2026-01-01"] * 30})
    raw.publish(files=raw.stage([batch], cursor=None).files, source="test", watermark=None)
    IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(
        {"run_id": RUN, "dag_run": SimpleNamespace(triggering_user_name="finance_admin")})


def test_the_compliance_report_of_finance(world, monkeypatch):
    _load_customers(world, monkeypatch)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    report = run_cli("tenantflow", "compliance", "finance", "--from", "2026-12-01", "--to", today,
                     env=world["env"]).stdout
    for section in ("# Compliance report: finance (Finance)", "## Tables and classification",
                    "## PII columns and masking", "## Retention (configured vs platform bound)", "## Access review",
                    "## Audit events"):
        assert section in report, section
    assert "| finance.customers | customers | restricted | restricted |" in report
    assert "| finance.customers | email | email | restricted | hash | hash |" in report
    assert "| customers | raw_batches | (platform default) | 30 days | 30 days |" in report
    assert "| customers | quarantine | (platform default) | 90 days | 90 days |" in report
    assert "config `access:` and the metadata DB's role membership" in report
    assert "| finance_steward | finance_engineer, finance_steward | finance_engineer, finance_steward |" in report
    assert "| load | 1 |" in report and "| pii.masking | 1 |" in report and "| sync.create_role | 4 |" in report
    assert "finance_admin | load | finance.customers" in report
    assert "c1@example.com" not in report and "N1 " not in report, "a data value in the report"

    out = world["root"] / "report.html"
    run_cli("tenantflow", "compliance", "finance", "--format", "html", "--out", str(out), env=world["env"])
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<h2>PII columns and masking</h2>" in page
    assert "<td>finance.customers</td><td>email</td><td>email</td><td>restricted</td><td>hash</td>" in page

    artifacts = REPO / "test-artifacts" / "audit"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "compliance-finance.md").write_text(report)


def test_a_report_without_the_metadata_db_says_so(world, monkeypatch):
    from tenantflow.audit.command import Window
    from tenantflow.audit.compliance import build_report
    from tenantflow.audit.compliance_render import markdown
    from tenantflow.config.loader import load_tenant
    from tenantflow.settings import get_settings

    for key, value in world["env"].items():
        monkeypatch.setenv(key, value)
    settings = get_settings(cached=False)
    bundle = load_tenant(settings.config_dir, "retail")
    report = build_report(settings, bundle, Window(), metadata_db=False)
    text = markdown(report)
    assert "config `access:` only (the Airflow metadata DB was not reachable)" in text
    assert all(a.actual is None for a in report.access) and report.counts.get("sync.create_role") == 4
    assert isinstance(report.events[0], AuditRecord)
