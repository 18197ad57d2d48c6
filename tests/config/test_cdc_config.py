"""A cdc source's config errors name file:line and what would be right: the write mode, the sections it cannot
go with, identifiers; another tenant's connection is refused in config and in the hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantflow.config import ConfigErrors, load_tenant
from tenantflow.config.cdc import default_slot
from tenantflow.isolation.guards import TenantIsolationError
from yaml_edits import edit


@pytest.fixture
def payments(config_tree: Path) -> Path:
    return config_tree / "tenant_configs" / "finance" / "pipelines" / "payments.yaml"


def errors(config_tree: Path):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(config_tree / "tenant_configs", "finance")
    return exc.value.errors


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("mode: merge\n  merge_keys: [payment_id]", "mode: append",
     "it needs `target.mode: merge` with `merge_keys` = the source table's primary key (mode is 'append')"),
    ("target:\n", "quality:\n  - rule: row_count\n    min: 1\ntarget:\n", "remove `quality`"),
    ("target:\n", "incremental:\n  cursor: paid_at\ntarget:\n", "remove `incremental` (no cursor column)"),
    ("merge_keys: [payment_id]", "merge_keys: [payment_id]\n  delete_flag: gone", "remove `target.delete_flag`"),
])
def test_a_cdc_pipeline_refuses_what_it_cannot_apply(config_tree, payments, old, new, message):
    edit(payments, old, new)
    found = errors(config_tree)
    assert len(found) == 1 and message in found[0].message, found
    assert str(found[0].file).endswith("finance/pipelines/payments.yaml") and found[0].line >= 1


def test_slot_and_table_must_be_plain_identifiers(config_tree, payments):
    edit(payments, "publication: finance_payments", "publication: finance_payments\n  slot: Bad-Slot")
    (error,) = errors(config_tree)
    assert error.field == "source.slot" and error.line == line_of(payments, "slot: Bad-Slot")


def test_another_tenants_connection_is_refused_in_config_and_in_the_hook(config_tree, payments):
    edit(payments, "connection_id: finance__payments_pg", "connection_id: retail__payments_pg")
    (error,) = errors(config_tree)
    assert "does not belong to tenant 'finance'" in error.message
    assert error.line == line_of(payments, "retail__payments_pg")
    from tenantflow.sources.cdc_postgres import PostgresCDCHook

    with pytest.raises(TenantIsolationError, match="may not use connection 'retail__payments_pg'"):
        PostgresCDCHook(tenant_id="finance", connection_id="retail__payments_pg")


def test_the_default_slot_is_per_pipeline_and_fits_postgres():
    assert default_slot("finance", "payments") == "tf_finance__payments"
    long = default_slot("a" * 32, "b" * 32)
    assert len(long) == 63 and long != default_slot("a" * 32, "b" * 31 + "c")
