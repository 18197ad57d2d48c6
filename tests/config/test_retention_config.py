"""Retention by classification: the platform's maximum ages apply by default; tenants may shorten, never lengthen."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tenantflow.config import ConfigErrors, load_tenant
from tenantflow.config.defaults import merge
from tenantflow.config.effective import effective_retention
from tenantflow.config.retention import Retention
from tenantflow.config.schema import json_schemas
from yaml_edits import append, edit, position

REPO = Path(__file__).resolve().parents[2]
D = timedelta(days=1)


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def errors_of(root: Path, tenant: str):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, tenant)
    return exc.value.errors


def the_error(root: Path, tenant: str):
    errors = errors_of(root, tenant)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def retention(root: Path, tenant: str, pipeline: str | None) -> Retention:
    bundle = load_tenant(root, tenant)
    return effective_retention(bundle.platform, bundle.tenant, bundle.pipeline(pipeline) if pipeline else None)


# --------------------------------------------------------------------------- effective retention


@pytest.mark.parametrize(("tenant", "pipeline", "expected"), [
    ("finance", "orders", Retention(raw_batches=30 * D, rejects=30 * D, quarantine=90 * D)),      # restricted
    ("finance", None, Retention(raw_batches=30 * D, rejects=30 * D, quarantine=90 * D)),
    ("healthcare", "lab_results", Retention(raw_batches=7 * D, rejects=7 * D, quarantine=30 * D)),  # highly_r.
    ("retail", "sales", Retention(raw_batches=None, rejects=None, quarantine=None)),               # internal
], ids=["finance-orders", "finance-tenant", "healthcare-lab_results", "retail-sales"])
def test_without_settings_the_platform_bound_of_the_classification_applies(
    tenant: str, pipeline: str | None, expected: Retention
) -> None:
    assert retention(REPO / "tenant_configs", tenant, pipeline) == expected


def test_storage_retention_days_still_sets_raw_batches_and_rejects(root: Path) -> None:
    edit(root / "finance" / "tenant.yaml", "  landing: landing/finance\n",
         "  landing: landing/finance\n  retention_days: 14\n")
    assert retention(root, "finance", "orders") == Retention(raw_batches=14 * D, rejects=14 * D, quarantine=90 * D)


def test_pipeline_settings_win_over_the_tenants(root: Path) -> None:
    edit(root / "finance" / "tenant.yaml", "  landing: landing/finance\n",
         "  landing: landing/finance\n  retention_days: 20\n")
    append(root / "finance" / "tenant.yaml", "retention:\n  rejects: 10d\n  quarantine: 60d\n")
    append(root / "finance" / "pipelines" / "orders.yaml", "retention:\n  quarantine: 36h\n")

    assert retention(root, "finance", "orders") == Retention(raw_batches=20 * D, rejects=10 * D,
                                                             quarantine=timedelta(hours=36))
    assert retention(root, "finance", "customers") == Retention(raw_batches=20 * D, rejects=10 * D,
                                                                quarantine=60 * D)


def test_a_pipeline_classification_brings_its_own_bound(root: Path) -> None:
    append(root / "finance" / "pipelines" / "customers.yaml", "classification: highly_restricted\n")
    assert retention(root, "finance", "customers") == Retention(raw_batches=7 * D, rejects=7 * D, quarantine=30 * D)
    assert retention(root, "finance", "orders").raw_batches == 30 * D, "the tenant's restricted bound"


def test_an_unbounded_classification_keeps_the_tenants_setting(root: Path) -> None:
    edit(root / "retail" / "tenant.yaml", "  landing: landing/retail\n",
         "  landing: landing/retail\n  retention_days: 400\n")
    assert retention(root, "retail", "sales") == Retention(raw_batches=400 * D, rejects=400 * D, quarantine=None)


# --------------------------------------------------------------------------- longer than the bound


def test_retention_days_longer_than_the_bound_is_an_error(root: Path) -> None:
    path = edit(root / "finance" / "tenant.yaml", "  landing: landing/finance\n",
                "  landing: landing/finance\n  retention_days: 90\n")

    error = the_error(root, "finance")

    assert (error.file, (error.line, error.column)) == (path, position(path, "retention_days"))
    assert error.field == "storage.retention_days"
    assert error.message == (
        "90 days keeps raw batches and rejects longer than the platform allows for classification 'restricted': "
        "allowed range raw batches up to 30d, rejects up to 30d "
        "(_platform.yaml retention.raw_batches.restricted, retention.rejects.restricted)"
    )
    assert error.hint == "use 1 to 30, or remove it to keep them for the platform's maximum"


def test_tenant_retention_block_longer_than_the_bound_is_an_error(root: Path) -> None:
    path = append(root / "healthcare" / "tenant.yaml", "retention:\n  quarantine: 45d\n")

    error = the_error(root, "healthcare")

    assert (error.file, (error.line, error.column)) == (path, position(path, "quarantine: 45d"))
    assert error.field == "retention.quarantine"
    assert error.message == (
        "45d keeps quarantine rows longer than the platform allows for classification 'highly_restricted': "
        "allowed range quarantine rows up to 30d (_platform.yaml retention.quarantine.highly_restricted)"
    )
    assert error.hint == "use at most 30d, or remove it to keep them for the platform's maximum"


def test_pipeline_retention_longer_than_the_bound_is_an_error(root: Path) -> None:
    path = append(root / "finance" / "pipelines" / "orders.yaml", "retention:\n  raw_batches: 31d\n")

    error = the_error(root, "finance")

    assert (error.file, (error.line, error.column)) == (path, position(path, "raw_batches: 31d"))
    assert error.field == "retention.raw_batches"
    assert error.message.startswith("31d keeps raw batches longer than the platform allows for classification "
                                    "'restricted': allowed range raw batches up to 30d")


def test_a_stricter_pipeline_classification_rejects_the_tenants_longer_setting(root: Path) -> None:
    """retail is internal (unbounded): its 90 days are fine there, not for a restricted pipeline."""
    edit(root / "retail" / "tenant.yaml", "  landing: landing/retail\n",
         "  landing: landing/retail\n  retention_days: 90\n")
    path = append(root / "retail" / "pipelines" / "sales.yaml", "classification: restricted\n")

    error = the_error(root, "retail")

    assert (error.file, (error.line, error.column)) == (path, position(path, "classification"))
    assert error.field == "classification"
    assert error.message == (
        "classification 'restricted' allows raw batches up to 30d, rejects up to 30d, but this pipeline inherits "
        "90 days for raw batches and rejects from tenant.yaml storage.retention_days"
    )
    assert error.hint == ("set `retention: {raw_batches: 30d, rejects: 30d}` (or shorter) in this pipeline, "
                          "or shorten storage.retention_days in tenant.yaml")


def test_a_shorter_pipeline_setting_fixes_the_inherited_one(root: Path) -> None:
    edit(root / "retail" / "tenant.yaml", "  landing: landing/retail\n",
         "  landing: landing/retail\n  retention_days: 90\n")
    append(root / "retail" / "pipelines" / "sales.yaml",
           "classification: restricted\nretention: {raw_batches: 30d, rejects: 7d}\n")
    assert retention(root, "retail", "sales") == Retention(raw_batches=30 * D, rejects=7 * D, quarantine=90 * D)


def test_a_tenant_error_is_not_repeated_for_each_pipeline(root: Path) -> None:
    edit(root / "finance" / "tenant.yaml", "  landing: landing/finance\n",
         "  landing: landing/finance\n  retention_days: 90\n")
    errors = errors_of(root, "finance")
    assert [e.field for e in errors] == ["storage.retention_days"], "\n".join(map(str, errors))


def test_a_platform_default_may_come_from_defaults_tenant(root: Path) -> None:
    """`defaults.tenant` merges under tenant.yaml for the new sections too (key by key)."""
    edit(root / "_platform.yaml", "    classification: internal\n",
         "    classification: internal\n    retention:\n      quarantine: 20d\n")
    append(root / "finance" / "tenant.yaml", "retention:\n  rejects: 5d\n")
    assert retention(root, "finance", "orders") == Retention(raw_batches=30 * D, rejects=5 * D, quarantine=20 * D)


# --------------------------------------------------------------------------- JSON Schema


def _schema_errors(kind: str, document: dict) -> list[str]:
    """Every error message, including those nested in `anyOf` branches (optional sections)."""
    def walk(errors):
        for error in errors:
            yield error.message
            yield from walk(error.context or ())
    return list(walk(Draft202012Validator(json_schemas()[kind]).iter_errors(document)))


def test_schema_accepts_durations_and_rejects_other_spellings() -> None:
    defaults = yaml.safe_load((REPO / "tenant_configs" / "_platform.yaml").read_text())["defaults"]["tenant"]
    tenant = merge(defaults, yaml.safe_load((REPO / "tenant_configs" / "finance" / "tenant.yaml").read_text()))
    good = {**copy.deepcopy(tenant), "retention": {"raw_batches": "14d"},
            "maintenance": {"snapshot_retention": {"expire_after": "36h", "keep_last": 3}}}
    assert _schema_errors("tenant", good) == []
    bad = {**copy.deepcopy(tenant), "retention": {"raw_batches": "14 days"}}
    assert any("'14 days' does not match" in e for e in _schema_errors("tenant", bad)), _schema_errors("tenant", bad)
    assert _schema_errors("tenant", {**copy.deepcopy(tenant), "retention": {"raw": "1d"}}), "unknown kind"
