"""Table maintenance settings: platform defaults, tenant and pipeline overrides within the platform's bounds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tenantflow.config import ConfigErrors, load_platform, load_tenant
from tenantflow.config.base import Schedule
from tenantflow.config.durations import format_duration, parse_duration
from tenantflow.config.effective import effective_maintenance
from tenantflow.config.maintenance import MaintenancePolicy
from tenantflow.config.models import TenantConfig
from yaml_edits import append, edit, position

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def the_error(root: Path, tenant: str):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, tenant)
    assert len(exc.value.errors) == 1, str(exc.value)
    return exc.value.errors[0]


def test_a_tenant_without_settings_gets_the_platform_defaults() -> None:
    bundle = load_tenant(REPO / "tenant_configs", "retail")

    policy = effective_maintenance(bundle.platform, bundle.tenant, bundle.pipeline("sales"))

    assert policy == MaintenancePolicy(
        enabled=True,
        schedule=Schedule(cron="30 3 * * *", timezone="UTC"),
        snapshot_retention={"expire_after": "7d", "keep_last": 5},
        compaction={"target_file_size_mb": 128, "min_input_files": 8},
        orphan_files_older_than="3d",
    ), "retail sets no `maintenance:`: every value comes from _platform.yaml"
    assert effective_maintenance(bundle.platform, bundle.tenant) == policy, "tenant level: the same defaults"


def test_tenant_and_pipeline_overrides_merge_field_by_field(root: Path) -> None:
    append(root / "retail" / "tenant.yaml", """\
maintenance:
  schedule: {cron: "0 4 * * 0", timezone: Europe/Berlin}
  snapshot_retention:
    expire_after: 14d
  orphan_files_older_than: 36h
""")
    append(root / "retail" / "pipelines" / "sales.yaml", """\
maintenance:
  snapshot_retention:
    keep_last: 10
  compaction:
    min_input_files: 4
""")
    bundle = load_tenant(root, "retail")

    sales = effective_maintenance(bundle.platform, bundle.tenant, bundle.pipeline("sales"))
    tenant_level = effective_maintenance(bundle.platform, bundle.tenant, None)
    products = effective_maintenance(bundle.platform, bundle.tenant, bundle.pipeline("products"))

    assert sales.snapshot_retention.expire_after == timedelta(days=14), "from tenant.yaml"
    assert sales.snapshot_retention.keep_last == 10, "from sales.yaml"
    assert sales.compaction.min_input_files == 4 and sales.compaction.target_file_size_mb == 128
    assert sales.orphan_files_older_than == timedelta(hours=36)
    assert sales.schedule == Schedule(cron="0 4 * * 0", timezone="Europe/Berlin"), "the tenant's schedule"
    assert tenant_level.snapshot_retention.keep_last == 5, "the pipeline's change is its table's only"
    assert products == tenant_level, "a pipeline without `maintenance:` gets its tenant's"


def test_policy_is_frozen() -> None:
    bundle = load_tenant(REPO / "tenant_configs", "retail")
    policy = effective_maintenance(bundle.platform, bundle.tenant)
    with pytest.raises(ValueError, match="frozen"):
        policy.enabled = False  # type: ignore[misc]


def test_a_pipeline_can_switch_maintenance_off(root: Path) -> None:
    append(root / "retail" / "pipelines" / "products.yaml", "maintenance:\n  enabled: false\n")
    bundle = load_tenant(root, "retail")
    assert effective_maintenance(bundle.platform, bundle.tenant, bundle.pipeline("products")).enabled is False
    assert effective_maintenance(bundle.platform, bundle.tenant, bundle.pipeline("sales")).enabled is True


# --------------------------------------------------------------------------- bounds


def test_tenant_expire_after_above_the_bound_is_an_error(root: Path) -> None:
    path = append(root / "retail" / "tenant.yaml", "maintenance:\n  snapshot_retention:\n    expire_after: 60d\n")

    error = the_error(root, "retail")

    assert (error.file, (error.line, error.column)) == (path, position(path, "expire_after: 60d"))
    assert error.field == "maintenance.snapshot_retention.expire_after"
    assert error.message == "60d is outside the platform's bounds: allowed range up to 30d"
    assert error.hint == "use at most 30d (maintenance.bounds.max_expire_after in _platform.yaml)"


def test_pipeline_orphan_window_below_the_bound_is_an_error(root: Path) -> None:
    path = append(root / "retail" / "pipelines" / "sales.yaml", "maintenance:\n  orphan_files_older_than: 12h\n")

    error = the_error(root, "retail")

    assert (error.file, (error.line, error.column)) == (path, position(path, "orphan_files_older_than"))
    assert error.field == "maintenance.orphan_files_older_than"
    assert error.message == ("12h is outside the platform's bounds: allowed range 1d or longer "
                             "(a shorter window can delete the files of a load still running)")
    assert error.hint == "use at least 1d (maintenance.bounds.min_orphan_files_older_than in _platform.yaml)"


def test_keep_last_below_the_platform_minimum_is_an_error(root: Path) -> None:
    edit(root / "_platform.yaml", "    min_keep_last: 1", "    min_keep_last: 3")
    path = append(root / "finance" / "tenant.yaml", "maintenance:\n  snapshot_retention: {keep_last: 2}\n")

    error = the_error(root, "finance")

    assert (error.file, error.field) == (path, "maintenance.snapshot_retention.keep_last")
    assert error.line == position(path, "keep_last")[0]
    assert error.message == "2 is outside the platform's bounds: allowed range 3 to 1000"
    assert error.hint == "keep at least 3 snapshot(s) (maintenance.bounds.min_keep_last in _platform.yaml)"


def test_values_at_the_bounds_are_accepted(root: Path) -> None:
    append(root / "retail" / "tenant.yaml",
           "maintenance:\n  snapshot_retention: {expire_after: 30d, keep_last: 1}\n  orphan_files_older_than: 24h\n")
    bundle = load_tenant(root, "retail")
    policy = effective_maintenance(bundle.platform, bundle.tenant)
    assert policy.snapshot_retention.expire_after == timedelta(days=30)
    assert policy.orphan_files_older_than == timedelta(days=1)


def test_platform_defaults_outside_its_own_bounds_fail_the_platform_file(root: Path) -> None:
    path = edit(root / "_platform.yaml", "    expire_after: 7d", "    expire_after: 45d")
    with pytest.raises(ConfigErrors) as exc:
        load_platform(root)
    [error] = exc.value.errors
    assert (error.file, error.field) == (path, "maintenance")
    assert "platform default snapshot_retention.expire_after 45d is outside the platform's bounds" in error.message


def test_a_pipeline_cannot_set_the_tenants_schedule(root: Path) -> None:
    path = append(root / "retail" / "pipelines" / "sales.yaml", "maintenance:\n  schedule: {cron: '0 1 * * *'}\n")

    error = the_error(root, "retail")

    assert (error.file, error.field, error.message) == (path, "maintenance.schedule", "unknown field")
    assert "allowed fields: compaction, enabled, orphan_files_older_than, snapshot_retention" in error.hint


@pytest.mark.parametrize("value", ["7 days", "0d", "7", "-1h", "1y"])
def test_a_malformed_duration_is_an_error(root: Path, value: str) -> None:
    path = append(root / "retail" / "tenant.yaml", f"maintenance:\n  orphan_files_older_than: '{value}'\n")

    error = the_error(root, "retail")

    assert (error.file, error.field) == (path, "maintenance.orphan_files_older_than")
    assert "is not a positive duration; write e.g. '36h', '7d' or '2w'" in error.message


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(("text", "delta", "canonical"), [
    ("36h", timedelta(hours=36), "36h"), ("7d", timedelta(days=7), "7d"), ("2w", timedelta(days=14), "14d"),
    ("90m", timedelta(minutes=90), "90m"), ("45s", timedelta(seconds=45), "45s"), ("48h", timedelta(days=2), "2d"),
])
def test_durations_parse_and_format(text: str, delta: timedelta, canonical: str) -> None:
    assert parse_duration(text) == delta
    assert format_duration(delta) == canonical


def test_durations_survive_the_parse_cache_round_trip(root: Path) -> None:
    """The parse cache stores model_dump(mode='json') and validates it again."""
    append(root / "retail" / "tenant.yaml", "maintenance:\n  snapshot_retention: {expire_after: 36h}\n")
    tenant = load_tenant(root, "retail").tenant

    dumped = tenant.model_dump(mode="json")

    assert dumped["maintenance"]["snapshot_retention"]["expire_after"] == "36h"
    assert TenantConfig.model_validate(dumped) == tenant
