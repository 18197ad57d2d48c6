"""Retention of landed data by classification: platform maximum ages, tenant and pipeline settings.

YAML::

    # _platform.yaml: the longest each classification's data may be kept (a class not named: no bound)
    retention:
      raw_batches: {restricted: 30d, highly_restricted: 7d}
      rejects:     {restricted: 30d, highly_restricted: 7d}
      quarantine:  {restricted: 90d, highly_restricted: 30d}

    # tenant.yaml or a pipeline file: shorter, never longer
    retention: {raw_batches: 14d, quarantine: 30d}

The pipeline's setting wins over the tenant's; the tenant's ``storage.retention_days`` still sets
raw batches and rejects where no ``retention:`` does. Without any setting the platform's bound of
the pipeline's classification applies; a class without a bound (and without a setting) is kept.
A setting longer than the bound is a config error (``bounds.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import Field

from tenantflow.config.base import Classification, Model
from tenantflow.config.durations import Duration

RetentionKind = Literal["raw_batches", "rejects", "quarantine"]
RETENTION_KINDS: tuple[RetentionKind, ...] = ("raw_batches", "rejects", "quarantine")
KIND_NAMES: dict[RetentionKind, str] = {
    "raw_batches": "raw batches", "rejects": "rejects", "quarantine": "quarantine rows",
}
# storage.retention_days predates `retention:` and covers the landing area only
RETENTION_DAYS_KINDS = ("raw_batches", "rejects")


class ClassificationAges(Model):
    """Maximum age per classification; a class left out has no bound."""

    public: Duration | None = None
    internal: Duration | None = None
    restricted: Duration | None = None
    highly_restricted: Duration | None = None

    def of(self, classification: Classification) -> timedelta | None:
        age: timedelta | None = getattr(self, classification.value)
        return age


class PlatformRetention(Model):
    raw_batches: ClassificationAges = Field(
        default=ClassificationAges(), description="Landed batches (and stale staging) of a pipeline run."
    )
    rejects: ClassificationAges = Field(default=ClassificationAges(), description="Rows rejected as malformed.")
    quarantine: ClassificationAges = Field(
        default=ClassificationAges(), description="Rows in the <table>__quarantine table (by _quarantined_at)."
    )


class RetentionSettings(Model):
    """A tenant's or pipeline's retention: shorter than the platform's bound of its classification."""

    raw_batches: Duration | None = None
    rejects: Duration | None = None
    quarantine: Duration | None = None


@dataclass(frozen=True)
class Retention:
    """How long a pipeline's data is kept; None = kept until deleted by hand."""

    raw_batches: timedelta | None
    rejects: timedelta | None
    quarantine: timedelta | None


@dataclass(frozen=True)
class RetentionSetting:
    """A retention a tenant or pipeline set, and where (for error messages)."""

    value: timedelta
    level: Literal["tenant", "pipeline"]
    field: str  # e.g. 'retention.raw_batches' or 'storage.retention_days'
