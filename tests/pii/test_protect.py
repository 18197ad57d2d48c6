from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tenantflow.config.privacy import PiiPolicy
from tenantflow.pii.classification import UnmaskedPiiError
from tenantflow.pii.protect import protect_batch

SECRET = b"finance-secret-0123456789abcdef"


@pytest.fixture
def batch() -> pa.Table:
    return pa.table(
        {
            "id": [1, 2, 3],
            "email": ["ann@example.com", "bob@example.org", None],
            "card": ["4242 4242 4242 4242", "5555 5555 5555 4444", "4111 1111 1111 1111"],
            "ip": ["10.0.0.1", "192.168.1.20", "8.8.8.8"],
            "status": ["new", "paid", "paid"],
        }
    )


def test_declared_and_auto_masking_with_properties(batch: pa.Table) -> None:
    policy = PiiPolicy.model_validate(
        {"auto": "redact", "columns": {"email": {"method": "hash"}, "card": {"method": "partial"}}}
    )
    out = protect_batch(
        batch, policy, tenant_id="finance", pipeline="payments", classification="internal", secret=SECRET
    )
    assert out.plan == {"email": "hash", "card": "partial", "ip": "redact"}
    assert out.table["card"].to_pylist() == ["***************4242", "***************4444", "***************1111"]
    assert out.table["ip"].to_pylist() == ["[REDACTED]"] * 3
    assert out.table["status"].equals(batch["status"])
    assert out.table["email"][2].as_py() is None and len(out.table["email"][0].as_py()) == 64
    assert out.properties["tenantflow.column.ip.masking"] == "redact"
    assert "ann@example.com" not in json.dumps(out.summary())


def test_auto_off_below_restricted_refuses_undeclared_pii(batch: pa.Table) -> None:
    policy = PiiPolicy.model_validate({"columns": {"email": {"method": "hash"}, "card": {"method": "drop"}}})
    with pytest.raises(UnmaskedPiiError, match=r"column 'ip': ipv4 in 3/3"):
        protect_batch(batch, policy, tenant_id="finance", pipeline="payments", classification="internal", secret=SECRET)


def test_restricted_table_loads_clear_pii_and_never_reads_a_secret(batch: pa.Table) -> None:
    def no_secret() -> bytes:
        raise AssertionError("no column is hashed: the secret must not be read")

    out = protect_batch(
        batch, PiiPolicy(), tenant_id="finance", pipeline="payments", classification="restricted", secret=no_secret
    )
    assert out.plan == {} and out.table.equals(batch)
    assert {f.column for f in out.findings} == {"email", "card", "ip"}
    assert out.properties["tenantflow.column.card.pii"] == "credit_card"


def test_hash_reads_the_tenants_connection_by_default(batch: pa.Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__PII", json.dumps({"conn_type": "generic", "password": SECRET.decode()}))
    policy = PiiPolicy(auto="hash")
    finance = protect_batch(batch, policy, tenant_id="finance", pipeline="payments", classification="public")
    explicit = protect_batch(
        batch, policy, tenant_id="finance", pipeline="payments", classification="public", secret=SECRET
    )
    assert finance.table.equals(explicit.table)


def test_detection_off_still_enforces_declared_clear_pii(batch: pa.Table) -> None:
    policy = PiiPolicy(detect=False, columns={"email": {"method": "none"}, "card": {"method": "drop"}})
    with pytest.raises(UnmaskedPiiError, match="column 'email': declared as PII kept clear"):
        protect_batch(batch, policy, tenant_id="finance", pipeline="payments", classification="internal")
    out = protect_batch(batch, policy, tenant_id="finance", pipeline="payments", classification="restricted")
    assert out.findings == [] and out.table.column_names == ["id", "email", "ip", "status"]


def test_declared_columns_missing_from_the_batch_are_skipped_with_a_warning(batch, caplog) -> None:
    policy = PiiPolicy(auto="redact", columns={"fax": {"method": "hash"}})
    out = protect_batch(batch, policy, tenant_id="finance", pipeline="payments", classification="internal")
    assert "fax" not in out.plan and out.plan == {"email": "redact", "card": "redact", "ip": "redact"}
    assert "pii.columns ['fax'] are not in this batch" in caplog.text
