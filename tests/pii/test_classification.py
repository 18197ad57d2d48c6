from __future__ import annotations

import pytest

from tenantflow.config.models import Classification
from tenantflow.pii.classification import (
    UnmaskedPiiError,
    column_docs,
    effective_table_level,
    rank,
    require_masked,
    table_properties,
    write_to_iceberg,
)
from tenantflow.pii.findings import ColumnFinding

EMAIL = ColumnFinding("email", "email", "value", 48, 50, 0.96, "j***@example.com")
CARD = ColumnFinding("card", "credit_card", "value", 50, 50, 1.0, "**** **** **** 4242")


def test_levels_are_ordered() -> None:
    assert [rank(c) for c in ("public", "internal", "restricted", "highly_restricted")] == [0, 1, 2, 3]
    assert effective_table_level("internal", {"card": Classification.highly_restricted}) == "highly_restricted"
    assert effective_table_level("restricted", {"note": "public"}) == "restricted"


def test_table_and_column_properties() -> None:
    props = table_properties(
        "internal",
        {"card": "highly_restricted"},
        findings=[EMAIL, CARD],
        plan={"email": "hash", "card": "partial", "ssn": "drop"},
    )
    assert props == {
        "tenantflow.classification": "highly_restricted",
        "tenantflow.column.card.classification": "highly_restricted",
        "tenantflow.column.card.pii": "credit_card",
        "tenantflow.column.card.masking": "partial",
        "tenantflow.column.email.classification": "internal",
        "tenantflow.column.email.pii": "email",
        "tenantflow.column.email.masking": "hash",
    }
    assert column_docs(props) == {
        "card": "classification=highly_restricted; pii=credit_card; masking=partial",
        "email": "classification=internal; pii=email; masking=hash",
    }


def test_unmasked_pii_below_restricted_fails_with_an_actionable_message() -> None:
    with pytest.raises(UnmaskedPiiError) as info:
        require_masked([EMAIL, CARD], {"card": "partial"}, "internal", pipeline="finance.payments")
    message = str(info.value)
    assert "'finance.payments'" in message and "'email'" in message and "email in 48/50" in message
    assert "'card'" not in message  # masked: not a problem
    assert "method: hash" in message and "restricted" in message and "pii.auto" in message
    assert "@" not in message and "j***" not in message  # no value, not even a masked one


@pytest.mark.parametrize(
    ("plan", "classification", "columns"),
    [
        ({"email": "hash", "card": "drop"}, "public", None),  # everything masked
        ({}, "restricted", None),  # restricted tables may hold clear PII
        ({}, "highly_restricted", None),
        ({"card": "redact"}, "internal", {"email": "restricted"}),  # column raised to restricted
    ],
)
def test_allowed_loads(plan: dict[str, str], classification: str, columns: dict[str, str] | None) -> None:
    require_masked([EMAIL, CARD], plan, classification, columns=columns)


def test_declared_none_counts_as_unmasked() -> None:
    with pytest.raises(UnmaskedPiiError, match="'email'"):
        require_masked([EMAIL], {"email": "none"}, "internal")


def test_pii_declared_clear_counts_even_without_a_finding() -> None:
    with pytest.raises(UnmaskedPiiError, match=r"column 'notes': declared as PII kept clear"):
        require_masked([], {}, "internal", declared_clear=["notes"])
    require_masked([], {}, "internal", declared_clear=["notes"], columns={"notes": "restricted"})
    require_masked([], {}, "restricted", declared_clear=["notes"])


@pytest.fixture
def iceberg_table(tmp_path):
    import pyarrow as pa

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(
        type="sql", properties={"uri": "sqlite:///{home}/catalog.db", "warehouse": "file://{home}/warehouse"}
    )
    catalog = open_catalog("test", settings, str(tmp_path))
    catalog.create_namespace("finance")
    data = pa.table({"id": pa.array([1], pa.int64()), "email": ["0f3a..."], "card": ["***4242"]})
    table = catalog.create_table("finance.payments", schema=data.schema)
    table.append(data)
    return catalog


def test_properties_and_column_docs_land_on_a_real_iceberg_table(iceberg_table) -> None:
    props = table_properties(
        "internal", {"card": "highly_restricted"}, findings=[EMAIL, CARD], plan={"email": "hash", "card": "partial"}
    )
    table = iceberg_table.load_table("finance.payments")
    changed = write_to_iceberg(table, props)
    assert changed["doc:email"] == "classification=internal; pii=email; masking=hash"

    reloaded = iceberg_table.load_table("finance.payments")
    assert {k: v for k, v in reloaded.properties.items() if k.startswith("tenantflow.")} == props
    docs = {field.name: field.doc for field in reloaded.schema().fields}
    assert docs == {
        "id": None,
        "email": "classification=internal; pii=email; masking=hash",
        "card": "classification=highly_restricted; pii=credit_card; masking=partial",
    }
    snapshots = len(reloaded.metadata.metadata_log)
    assert write_to_iceberg(reloaded, props) == {}  # idempotent: nothing to commit on a re-run
    assert len(iceberg_table.load_table("finance.payments").metadata.metadata_log) == snapshots
