"""Platform defaults are merged under tenant and pipeline values: mappings merge, everything else replaces."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml

from tenantflow.config import ConfigErrors, load_tenant
from tenantflow.config.defaults import merge
from tenantflow.config.models import RetryPolicy

# --------------------------------------------------------------------------- merge()


def test_nested_mappings_merge_key_by_key() -> None:
    defaults = {"quotas": {"pool_slots": 4, "max_active_runs": 2}, "retries": {"policy": {"a": 1, "b": 2}}}
    values = {"quotas": {"pool_slots": 8}, "retries": {"policy": {"b": 3}}}

    assert merge(defaults, values) == {
        "quotas": {"pool_slots": 8, "max_active_runs": 2},
        "retries": {"policy": {"a": 1, "b": 3}},
    }


def test_keys_from_either_side_are_kept() -> None:
    assert merge({"tier": "standard"}, {"display_name": "Retail"}) == {
        "tier": "standard",
        "display_name": "Retail",
    }


@pytest.mark.parametrize(
    ("default", "value"),
    [
        (["erp", "daily"], ["pos"]),  # lists replace, they are not concatenated
        ([1, 2, 3], []),  # an empty list replaces too
        (4, 8),  # scalars replace
        ({"cron": "0 1 * * *"}, "@daily"),  # a scalar replaces a mapping
        ("@daily", {"cron": "0 1 * * *"}),  # a mapping replaces a scalar
        ({"cron": "0 1 * * *", "timezone": "UTC"}, None),  # explicit null replaces
        (0, None),
    ],
    ids=[
        "list",
        "empty-list",
        "scalar",
        "scalar-over-mapping",
        "mapping-over-scalar",
        "null-over-mapping",
        "null-over-scalar",
    ],
)
def test_everything_but_mappings_replaces_the_default(default: object, value: object) -> None:
    assert merge({"key": default, "other": 1}, {"key": value}) == {"key": value, "other": 1}


def test_inputs_are_not_modified() -> None:
    defaults = {"quotas": {"pool_slots": 4, "limits": {"a": 1}}, "tags": ["x"], "schedule": None}
    values = {"quotas": {"pool_slots": 8, "limits": {"b": 2}}, "tags": ["y"], "extra": {"k": "v"}}
    defaults_before, values_before = copy.deepcopy(defaults), copy.deepcopy(values)

    merge(defaults, values)

    assert defaults == defaults_before, "merge() modified the defaults"
    assert values == values_before, "merge() modified the values"


def test_merge_is_deterministic() -> None:
    defaults = {"b": {"y": 1, "x": 2}, "a": [1], "c": None}
    values = {"d": 4, "b": {"z": 3, "x": 5}}

    results = [merge(defaults, values) for _ in range(3)]

    assert results[0] == results[1] == results[2]
    assert [list(r) for r in results] == [["b", "a", "c", "d"]] * 3, "key order must not vary between calls"
    assert [list(r["b"]) for r in results] == [["y", "x", "z"]] * 3


def test_empty_defaults_and_empty_values() -> None:
    assert merge({}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge({"a": {"b": 1}}, {}) == {"a": {"b": 1}}
    assert merge({}, {}) == {}


# --------------------------------------------------------------------------- through the loader


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def platform_defaults(root: Path) -> dict:
    return yaml.safe_load((root / "_platform.yaml").read_text())["defaults"]


def test_retail_gets_platform_retries_and_tier(repo: Path) -> None:
    root = repo / "tenant_configs"
    retail_yaml = yaml.safe_load((root / "retail" / "tenant.yaml").read_text())
    assert "retries" not in retail_yaml and "tier" not in retail_yaml, "test premise: retail sets neither"
    defaults = platform_defaults(root)["tenant"]

    tenant = load_tenant(root, "retail").tenant

    assert tenant.retries == RetryPolicy(**defaults["retries"]), "retail should get _platform.yaml's retries"
    assert tenant.tier.value == defaults["tier"]
    assert tenant.default_engine.value == defaults["default_engine"]
    assert tenant.catalog.name == defaults["catalog"]["name"], (
        "catalog.name comes from defaults, namespace not"
    )
    assert tenant.catalog.namespace == "retail"


def test_tenant_values_win_over_platform_defaults(repo: Path) -> None:
    healthcare = load_tenant(repo / "tenant_configs", "healthcare").tenant
    assert healthcare.retries.retries == 3, "healthcare sets its own retries in tenant.yaml"
    assert healthcare.retries.max_retry_delay_seconds == 1800
    assert healthcare.tier.value == "dedicated"


def test_partial_mapping_in_tenant_is_completed_from_defaults(root: Path) -> None:
    path = root / "retail" / "tenant.yaml"
    path.write_text(path.read_text() + "retries:\n  retries: 7\n")
    defaults = platform_defaults(root)["tenant"]["retries"]

    retries = load_tenant(root, "retail").tenant.retries

    assert retries.retries == 7
    assert retries.retry_delay_seconds == defaults["retry_delay_seconds"]
    assert retries.max_retry_delay_seconds == defaults["max_retry_delay_seconds"]


def test_explicit_null_in_tenant_replaces_the_default(root: Path) -> None:
    path = root / "retail" / "tenant.yaml"
    path.write_text(path.read_text() + "retries: null\n")

    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, "retail")

    assert [(e.file, e.field) for e in exc.value.errors] == [(path, "retries")], (
        f"`retries: null` must not fall back to the platform default:\n{exc.value}"
    )


def test_pipeline_defaults_apply_to_every_pipeline(root: Path) -> None:
    platform = root / "_platform.yaml"
    platform.write_text(
        platform.read_text() + "    enabled: false\n    description: managed by the platform\n"
    )
    (root / "retail" / "pipelines" / "products.yaml").write_text(
        textwrap.dedent("""\
        enabled: true
        source:
          kind: files
          path: sources/retail/products.json
          format: json
        target:
          table: products
          mode: append
    """)
    )

    bundle = load_tenant(root, "retail")

    assert bundle.pipeline("sales").enabled is False, (
        "sales does not set `enabled`: the platform default applies"
    )
    assert bundle.pipeline("products").enabled is True, "products sets `enabled: true` itself"
    assert bundle.pipeline("products").description == "managed by the platform"
    assert bundle.pipeline("sales").description.startswith("Point-of-sale"), "own description wins"
    assert bundle.pipeline("products").schedule is None, "`schedule: null` default leaves it manual"
