"""What the doctor checks for a tenant comes from its config, with the ids the pipelines themselves use."""

from __future__ import annotations

from doctor_tree import DATABRICKS_CLUSTER, bundle, files_source, sql_source

from tenantflow.config.loader import load_tenant
from tenantflow.doctor.plan import tenant_needs


def _needs(b, home="/h"):
    return [(n.purpose, n.connection_id, n.location, n.pipelines) for n in tenant_needs(b, home)]


def test_example_finance_needs_its_erp_once_its_pii_key_and_its_fx_folder(repo):
    finance = load_tenant(repo / "tenant_configs", "finance")
    assert _needs(finance) == [
        ("sql", "finance__erp", None, ("customers", "orders")),
        ("pii", "finance__pii", None, ("customers",)),  # customers hashes email; orders masks nothing
        ("files", None, "/h/sources/finance/fx_rates/*.csv", ("fx_rates",)),
        ("cdc", "finance__payments_pg", None, ("payments",)),
    ]


def test_databricks_engine_needs_the_workspace_connection(tmp_path):
    b = bundle(tmp_path, {"orders": {**sql_source("acme__erp"), "engine": "databricks"}},
               databricks=DATABRICKS_CLUSTER)
    assert ("databricks", "acme__databricks", None, ("orders",)) in _needs(b)


def test_only_hashing_needs_the_pii_key_and_a_named_key_connection_is_used(tmp_path):
    b = bundle(tmp_path, {
        "redacted": {**sql_source("acme__erp"), "pii": {"columns": {"email": {"method": "redact"}}}},
        "hashed": {**sql_source("acme__erp"), "pii": {"columns": {"email": {"method": "hash"}},
                                                     "secret_connection": "acme__hmac"}},
        "auto": {**sql_source("acme__erp"), "pii": {"auto": "hash"}},
    })
    pii = [n for n in _needs(b) if n[0] == "pii"]
    assert pii == [("pii", "acme__pii", None, ("auto",)), ("pii", "acme__hmac", None, ("hashed",))]


def test_disabled_pipelines_need_nothing_and_s3_paths_keep_their_connection(tmp_path):
    b = bundle(tmp_path, {
        "off": {**sql_source("acme__old"), "enabled": False},
        "drops": files_source("s3://acme-drops/in/*.csv", "acme__drops"),
    })
    assert _needs(b) == [("files", "acme__drops", "s3://acme-drops/in/*.csv", ("drops",))]


def test_example_stream_and_event_pipelines_need_their_queues(repo):
    retail = load_tenant(repo / "tenant_configs", "retail")
    assert ("queue", "retail__events_rabbitmq", "retail.store_events", ("store_events",)) in _needs(retail)
    healthcare = load_tenant(repo / "tenant_configs", "healthcare")
    assert ("arrivals", "healthcare__lab_drop", "https://sqs.us-east-1.amazonaws.com/123456789012/"
            "healthcare-lab-arrivals", ("partner_lab_results",)) in _needs(healthcare)
