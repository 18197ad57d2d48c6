"""Platform bounds a tenant's and a pipeline's maintenance and retention settings must keep.

Run by the loader (so by ``tenantflow validate``, the DAG factory and CI) after the models are
valid; each finding names the field, its value and the allowed range.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from tenantflow.config.durations import format_duration
from tenantflow.config.effective import classification_of, retention_bound, retention_setting
from tenantflow.config.maintenance import PipelineMaintenance
from tenantflow.config.models import Classification, PipelineConfig, PlatformConfig, TenantConfig
from tenantflow.config.ownership import Violation
from tenantflow.config.retention import (
    KIND_NAMES,
    RETENTION_KINDS,
    RetentionKind,
    RetentionSetting,
)


def tenant_bound_violations(tenant: TenantConfig, platform: PlatformConfig) -> list[Violation]:
    found = _maintenance_violations(tenant.maintenance, platform)
    exceeded = _exceeded(tenant, None, platform, tenant.classification)
    found += _setting_violations(exceeded, tenant.classification)
    return found


def pipeline_bound_violations(
    pipeline: PipelineConfig, tenant: TenantConfig, platform: PlatformConfig
) -> list[Violation]:
    found = _maintenance_violations(pipeline.maintenance, platform)
    classification = classification_of(tenant, pipeline)
    exceeded = _exceeded(tenant, pipeline, platform, classification)
    found += _setting_violations([e for e in exceeded if e[1].level == "pipeline"], classification)
    # A tenant-wide setting the tenant's own classification allows, but this pipeline's stricter one does not
    # (one the tenant's classification does not allow is reported in tenant.yaml already).
    inherited = [(kind, setting, bound) for kind, setting, bound in exceeded if setting.level == "tenant"
                 and not _too_long(setting.value, retention_bound(platform, tenant.classification, kind))]
    if inherited:
        found.append(_inherited_violation(inherited, classification))
    return found


def _maintenance_violations(overrides: PipelineMaintenance | None, platform: PlatformConfig) -> list[Violation]:
    if overrides is None:
        return []
    return [Violation(f"maintenance.{p.field}", p.message, p.hint)
            for p in overrides.bound_problems(platform.maintenance.bounds)]


Exceeded = tuple[RetentionKind, RetentionSetting, timedelta]


def _too_long(value: timedelta, bound: timedelta | None) -> bool:
    return bound is not None and value > bound


def _exceeded(
    tenant: TenantConfig, pipeline: PipelineConfig | None, platform: PlatformConfig, classification: Classification
) -> list[Exceeded]:
    out = []
    for kind in RETENTION_KINDS:
        setting = retention_setting(tenant, pipeline, kind)
        bound = retention_bound(platform, classification, kind)
        if setting is not None and bound is not None and setting.value > bound:
            out.append((kind, setting, bound))
    return out


def _allowed(exceeded: Iterable[Exceeded]) -> str:
    return ", ".join(f"{KIND_NAMES[kind]} up to {format_duration(bound)}" for kind, _, bound in exceeded)


def _shown(setting: RetentionSetting) -> str:
    if setting.field == "storage.retention_days":
        return f"{setting.value.days} days"
    return format_duration(setting.value)


def _setting_violations(exceeded: list[Exceeded], classification: Classification) -> list[Violation]:
    by_field: dict[str, list[Exceeded]] = {}
    for item in exceeded:
        by_field.setdefault(item[1].field, []).append(item)
    violations = []
    for field, items in by_field.items():
        kinds = [kind for kind, _, _ in items]
        what = " and ".join(KIND_NAMES[kind] for kind in kinds)
        shortest = min(bound for _, _, bound in items)
        bounds = ", ".join(f"retention.{kind}.{classification.value}" for kind in kinds)
        message = (f"{_shown(items[0][1])} keeps {what} longer than the platform allows for classification "
                   f"{classification.value!r}: allowed range {_allowed(items)} (_platform.yaml {bounds})")
        if field == "storage.retention_days" and shortest >= timedelta(days=1):
            hint = f"use 1 to {shortest.days}, or remove it to keep them for the platform's maximum"
        elif field == "storage.retention_days":
            hint = f"set `retention: {{{kinds[0]}: {format_duration(shortest)}}}` instead (less than a day)"
        else:
            hint = f"use at most {format_duration(shortest)}, or remove it to keep them for the platform's maximum"
        violations.append(Violation(field, message, hint))
    return violations


def _inherited_violation(inherited: list[Exceeded], classification: Classification) -> Violation:
    setting = inherited[0][1]
    what = " and ".join(KIND_NAMES[kind] for kind, _, _ in inherited)
    kinds = ", ".join(f"{kind}: {format_duration(bound)}" for kind, _, bound in inherited)
    return Violation(
        "classification",
        f"classification {classification.value!r} allows {_allowed(inherited)}, but this pipeline inherits "
        f"{_shown(setting)} for {what} from tenant.yaml {setting.field}",
        f"set `retention: {{{kinds}}}` (or shorter) in this pipeline, or shorten {setting.field} in tenant.yaml",
    )
