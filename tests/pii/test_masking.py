from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from tenantflow.pii.findings import ColumnFinding
from tenantflow.pii.masking import MaskingError, apply_masking, masked_sample, plan_masking

FINANCE = b"finance-secret-0123456789abcdef"
RETAIL = b"retail-secret-0123456789abcdefgh"


@pytest.fixture
def customers() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "email": ["ann@example.com", None, "bob@example.org", "ann@example.com"],
            "card": ["4242 4242 4242 4242", "5555555555554444", None, "12"],
            "note": ["vip", None, "", "call back"],
        }
    )


def test_hash_is_hmac_sha256_of_the_value_with_the_tenant_secret(customers: pa.Table) -> None:
    out = apply_masking(customers, {"email": "hash"}, FINANCE)
    expected = hmac.new(FINANCE, b"ann@example.com", hashlib.sha256).hexdigest()
    assert out["email"].to_pylist() == [
        expected,
        None,
        hmac.new(FINANCE, b"bob@example.org", hashlib.sha256).hexdigest(),
        expected,
    ]
    assert out.column_names == customers.column_names
    assert out["id"].equals(customers["id"]) and out["card"].equals(customers["card"])


def test_hash_is_deterministic_per_tenant_and_differs_across_tenants(customers: pa.Table) -> None:
    finance_1 = apply_masking(customers, {"email": "hash"}, FINANCE)["email"].to_pylist()
    finance_2 = apply_masking(customers.slice(2), {"email": "hash"}, FINANCE)["email"].to_pylist()
    retail = apply_masking(customers, {"email": "hash"}, RETAIL)["email"].to_pylist()
    assert finance_1[2:] == finance_2  # same value, same tenant, different batch: same hash (joinable)
    assert all(f != r for f, r in zip(finance_1, retail, strict=True) if f is not None)
    assert retail[1] is None


def test_hash_of_multi_chunk_and_non_string_columns() -> None:
    table = pa.Table.from_batches([pa.record_batch({"phone": pa.array([4155552671, None], pa.int64())})] * 2)
    out = apply_masking(table, {"phone": "hash"}, FINANCE)["phone"].to_pylist()
    digest = hmac.new(FINANCE, b"4155552671", hashlib.sha256).hexdigest()
    assert out == [digest, None, digest, None]


def test_hash_refuses_a_missing_or_weak_secret(customers: pa.Table) -> None:
    with pytest.raises(MaskingError, match="at least 16 bytes"):
        apply_masking(customers, {"email": "hash"}, None)
    with pytest.raises(MaskingError, match="at least 16 bytes"):
        apply_masking(customers, {"email": "hash"}, b"short")


def test_redact_partial_drop_exact_and_nulls_preserved(customers: pa.Table) -> None:
    out = apply_masking(customers, {"email": "redact", "card": "partial", "note": "drop"})
    assert out.column_names == ["id", "email", "card"]
    assert out["email"].to_pylist() == ["[REDACTED]", None, "[REDACTED]", "[REDACTED]"]
    # last 4 kept, everything else '*', same length; a value of <= 4 characters is masked entirely
    assert out["card"].to_pylist() == ["***************4242", "************4444", None, "**"]


def test_partial_counts_characters_not_bytes() -> None:
    out = apply_masking(pa.table({"name": ["Zoë Müller", "Åsa"]}), {"name": "partial"})
    assert out["name"].to_pylist() == ["******ller", "***"]


def test_plan_errors_name_the_column_and_method(customers: pa.Table) -> None:
    with pytest.raises(MaskingError, match=r"'phone'.*columns are: id, email, card, note"):
        apply_masking(customers, {"phone": "redact"})
    with pytest.raises(MaskingError, match=r"unknown masking method.*'email': 'encrypt'"):
        apply_masking(customers, {"email": "encrypt"})


def _finding(column: str, pii_type: str = "email") -> ColumnFinding:
    return ColumnFinding(column, pii_type, "value", 9, 10, 0.9, "a***@example.com")


def test_auto_masks_only_detected_columns_the_config_did_not_declare() -> None:
    findings = [_finding("email"), _finding("backup_email"), _finding("notes")]
    declared = {"email": "partial", "notes": "none", "card": "drop"}
    assert plan_masking(findings, declared, auto="hash") == {"email": "partial", "card": "drop", "backup_email": "hash"}
    assert plan_masking(findings, declared, auto="off") == {"email": "partial", "card": "drop"}


def test_masked_sample_for_logs() -> None:
    assert masked_sample("jane.doe@example.com", "email") == "j***@example.com"
    assert masked_sample("4242 4242 4242 4242", "credit_card") == "**** **** **** 4242"
    assert masked_sample("123-45-6789", "us_ssn") == "***-**-6789"
    assert masked_sample("10.0.0.1", "ipv4") == "***.***.***.1"
    assert masked_sample("::1", "ipv6") == "****:****:****:****:****:****:****:0001"
    assert masked_sample("10.0.0.1") == "**.*.0.1"  # generic: never more than half of a short value


@pytest.mark.parametrize(
    "arrow_type",
    [pa.large_string(), pa.string_view(), pa.dictionary(pa.int32(), pa.string())],
    ids=["large_string", "string_view", "dictionary"],
)
def test_every_arrow_string_layout_masks_the_same(arrow_type: pa.DataType) -> None:
    from tenantflow.pii.scan import scan_table

    plain = pa.table({"e": ["ann@example.com", None, "bob@example.org"]})
    other = pa.table({"e": plain["e"].cast(arrow_type)})
    for method in ("hash", "partial", "redact"):
        expected = apply_masking(plain, {"e": method}, FINANCE)["e"].to_pylist()
        assert apply_masking(other, {"e": method}, FINANCE)["e"].to_pylist() == expected, method
    assert scan_table(other) == scan_table(plain)
