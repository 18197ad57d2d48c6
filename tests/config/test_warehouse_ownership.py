"""`tenantflow validate` refuses a warehouse or KMS key that is another tenant's, or one shared by every tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantflow.config import ConfigErrors, load_tenant
from yaml_edits import edit, position


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def _storage(root: Path, lines: str) -> Path:
    return edit(root / "finance/tenant.yaml", "landing: landing/finance", "landing: landing/finance\n" + lines)


def _errors(root: Path, tenant: str = "finance"):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, tenant)
    return [(e.field, e.line, e.message, e.hint) for e in exc.value.errors]


@pytest.mark.parametrize(("warehouse", "message"), [
    ("s3://acme-retail-warehouse", "points at tenant 'retail'"),
    ("s3://acme-lakehouse/retail/finance", "points at tenant 'retail'"),
    ("s3://acme-shared-warehouse/tables", "is not a bucket of tenant 'finance'"),
    ("warehouse/retail", "points at tenant 'retail'"),
    ("gs://acme-finance-warehouse", "must be an s3:// bucket (and prefix) or a local path"),
])
def test_a_warehouse_not_the_tenants_own_is_refused(root: Path, warehouse: str, message: str) -> None:
    path = _storage(root, f"  warehouse: {warehouse}")
    [(field, line, got, hint)] = _errors(root)
    assert field in ("storage.warehouse", "storage") and line == position(path, "warehouse:")[0] - (field == "storage")
    assert message in got


def test_the_tenants_own_warehouse_and_key_are_accepted(root: Path) -> None:
    _storage(root, "  warehouse: s3://acme-finance-warehouse/iceberg\n  kms_key_id: alias/finance-data")
    storage = load_tenant(root, "finance").tenant.storage
    assert (storage.warehouse, storage.kms_key_id) == ("s3://acme-finance-warehouse/iceberg", "alias/finance-data")


@pytest.mark.parametrize("key", ["alias/retail-data", "arn:aws:kms:eu-west-1:123456789012:alias/retail"])
def test_a_kms_key_named_for_another_tenant_is_refused(root: Path, key: str) -> None:
    path = _storage(root, f"  warehouse: s3://acme-finance-warehouse\n  kms_key_id: {key}")
    [(field, line, message, hint)] = _errors(root)
    assert (field, line) == ("storage.kms_key_id", position(path, "kms_key_id:")[0])
    assert "names tenant 'retail'" in message and "alias/finance-data" in hint


def test_a_catalog_warehouse_shared_by_every_tenant_is_refused(root: Path) -> None:
    edit(root / "_platform.yaml", 'warehouse: "file://{home}/warehouse/{tenant}"', 'warehouse: "s3://acme-lakehouse"')
    [(field, _, message, hint)] = _errors(root)
    assert field == "storage.warehouse" and "every tenant's tables under one warehouse 's3://acme-lakehouse'" in message
    assert "'{tenant}'" in hint
    _storage(root, "  warehouse: s3://acme-finance-warehouse")
    assert load_tenant(root, "finance").tenant.storage.warehouse == "s3://acme-finance-warehouse"


def test_a_key_with_nothing_on_s3_to_encrypt_is_refused(root: Path) -> None:
    _storage(root, "  kms_key_id: alias/finance-data")
    [(field, _, message, _)] = _errors(root)
    assert field == "storage.kms_key_id" and "neither the landing nor the warehouse is on s3://" in message
