"""The effective settings of a pipeline: the platform's, under the tenant's, under the pipeline's.

The section models (``maintenance.py``, ``retention.py``) are plain data; resolving them needs the
whole configs, so it lives here, above ``models``: sections never import the models they are part of.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from tenantflow.config.base import Classification
from tenantflow.config.defaults import merge
from tenantflow.config.maintenance import MaintenancePolicy
from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig
from tenantflow.config.retention import (
    RETENTION_DAYS_KINDS,
    RETENTION_KINDS,
    ClassificationAges,
    Retention,
    RetentionKind,
    RetentionSetting,
)


def effective_maintenance(
    platform: PlatformConfig, tenant: TenantConfig, pipeline: PipelineConfig | None = None
) -> MaintenancePolicy:
    """The maintenance of ``pipeline``'s table, or with ``pipeline=None`` of the tenant's quality and
    quarantine tables: the platform's defaults, under the tenant's, under the pipeline's."""
    overrides = (tenant.maintenance, pipeline.maintenance if pipeline else None)
    layers = [platform.maintenance.model_dump(exclude={"bounds"})]
    layers += [o.model_dump(exclude_none=True) for o in overrides if o is not None]
    return MaintenancePolicy.model_validate(functools.reduce(merge, layers))


def classification_of(tenant: TenantConfig, pipeline: PipelineConfig | None) -> Classification:
    return (pipeline.classification if pipeline else None) or tenant.classification


def retention_bound(platform: PlatformConfig, classification: Classification, kind: RetentionKind) -> timedelta | None:
    ages: ClassificationAges = getattr(platform.retention, kind)
    return ages.of(classification)


def retention_setting(
    tenant: TenantConfig, pipeline: PipelineConfig | None, kind: RetentionKind
) -> RetentionSetting | None:
    """The setting that decides ``kind``: the pipeline's, else the tenant's, else storage.retention_days."""
    if pipeline is not None and pipeline.retention is not None and (age := getattr(pipeline.retention, kind)):
        return RetentionSetting(age, "pipeline", f"retention.{kind}")
    if tenant.retention is not None and (age := getattr(tenant.retention, kind)):
        return RetentionSetting(age, "tenant", f"retention.{kind}")
    if kind in RETENTION_DAYS_KINDS and tenant.storage.retention_days:
        return RetentionSetting(timedelta(days=tenant.storage.retention_days), "tenant", "storage.retention_days")
    return None


def effective_retention(
    platform: PlatformConfig, tenant: TenantConfig, pipeline: PipelineConfig | None = None
) -> Retention:
    """How long ``pipeline``'s raw batches, rejects and quarantine rows are kept (``pipeline=None``: the
    tenant's own classification and settings). Never longer than the platform's bound, even for a config
    that skipped validation."""
    classification = classification_of(tenant, pipeline)
    ages: dict[str, timedelta | None] = {}
    for kind in RETENTION_KINDS:
        bound = retention_bound(platform, classification, kind)
        setting = retention_setting(tenant, pipeline, kind)
        candidates = [age for age in (bound, setting.value if setting else None) if age is not None]
        ages[kind] = min(candidates) if candidates else None
    return Retention(**ages)
