"""Table maintenance settings: platform defaults and bounds, tenant and pipeline overrides, the effective policy.

YAML::

    # _platform.yaml: the defaults of every table, and what tenants may change
    maintenance:
      schedule: {cron: "30 3 * * *", timezone: UTC}   # the tenant's maintenance DAG
      snapshot_retention: {expire_after: 7d, keep_last: 5}
      compaction: {target_file_size_mb: 128, min_input_files: 8}
      orphan_files_older_than: 3d
      bounds: {max_expire_after: 30d, min_keep_last: 1, min_orphan_files_older_than: 1d}

    # tenant.yaml (any field, schedule included) or a pipeline file (any field but schedule)
    maintenance:
      snapshot_retention: {expire_after: 36h}

A tenant's value lies over the platform's, a pipeline's over its tenant's, field by field
(``defaults.merge``); ``config.effective.effective_maintenance`` resolves them. Bounds are checked by the loader
(``bounds.py``), so a policy that got this far is inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field, model_validator

from tenantflow.config.base import Model, Schedule
from tenantflow.config.durations import Duration, format_duration

_KEEP_LAST_MAX = 1000
_FILE_SIZE_MB_MAX = 4096


class SnapshotRetention(Model):
    expire_after: Duration = Field(
        default=timedelta(days=7),
        description="Snapshots older than this are expired (time travel ends there), e.g. '36h' or '7d'.",
    )
    keep_last: int = Field(
        default=5, ge=1, le=_KEEP_LAST_MAX, description="The newest N snapshots are kept, however old."
    )


class Compaction(Model):
    target_file_size_mb: int = Field(default=128, ge=1, le=_FILE_SIZE_MB_MAX,
                                     description="Size of the data files compaction writes.")
    min_input_files: int = Field(
        default=8, ge=2, le=10_000,
        description="A partition is compacted once it holds at least this many files smaller than the target.",
    )


class MaintenancePolicy(Model):
    """The maintenance of one table (or of a tenant's quality and quarantine tables), fully resolved."""

    enabled: bool = Field(default=True, description="Run maintenance on the table(s) at all.")
    schedule: Schedule = Field(
        default=Schedule(cron="30 3 * * *"), description="Cron of the tenant's maintenance DAG."
    )
    snapshot_retention: SnapshotRetention = SnapshotRetention()
    compaction: Compaction = Compaction()
    orphan_files_older_than: Duration = Field(
        default=timedelta(days=3),
        description="Files no snapshot references are deleted once older than this; a shorter window could "
        "delete the files of a load still running.",
    )


class MaintenanceBounds(Model):
    """What tenants and pipelines may set."""

    max_expire_after: Duration = Field(
        default=timedelta(days=30),
        description="Longest snapshot_retention.expire_after (old snapshots keep deleted rows readable).",
    )
    min_keep_last: int = Field(default=1, ge=1, le=_KEEP_LAST_MAX,
                               description="Fewest snapshots snapshot_retention.keep_last may keep.")
    min_orphan_files_older_than: Duration = Field(
        default=timedelta(days=1),
        description="Shortest orphan_files_older_than (a shorter window can delete files of a running load).",
    )


@dataclass(frozen=True)
class BoundProblem:
    field: str  # relative to the `maintenance:` section, e.g. 'snapshot_retention.expire_after'
    message: str
    hint: str


def bound_problems(
    expire_after: timedelta | None, keep_last: int | None, orphan_window: timedelta | None,
    bounds: MaintenanceBounds,
) -> list[BoundProblem]:
    """The values (None = not set here) that lie outside ``bounds``."""
    problems = []
    if expire_after is not None and expire_after > bounds.max_expire_after:
        limit = format_duration(bounds.max_expire_after)
        problems.append(BoundProblem(
            "snapshot_retention.expire_after",
            f"{format_duration(expire_after)} is outside the platform's bounds: allowed range up to {limit}",
            f"use at most {limit} (maintenance.bounds.max_expire_after in _platform.yaml)"))
    if keep_last is not None and keep_last < bounds.min_keep_last:
        problems.append(BoundProblem(
            "snapshot_retention.keep_last",
            f"{keep_last} is outside the platform's bounds: allowed range {bounds.min_keep_last} to "
            f"{_KEEP_LAST_MAX}",
            f"keep at least {bounds.min_keep_last} snapshot(s) (maintenance.bounds.min_keep_last in _platform.yaml)"))
    if orphan_window is not None and orphan_window < bounds.min_orphan_files_older_than:
        limit = format_duration(bounds.min_orphan_files_older_than)
        problems.append(BoundProblem(
            "orphan_files_older_than",
            f"{format_duration(orphan_window)} is outside the platform's bounds: allowed range {limit} or longer "
            "(a shorter window can delete the files of a load still running)",
            f"use at least {limit} (maintenance.bounds.min_orphan_files_older_than in _platform.yaml)"))
    return problems


class PlatformMaintenance(MaintenancePolicy):
    bounds: MaintenanceBounds = MaintenanceBounds()

    @model_validator(mode="after")
    def _defaults_inside_bounds(self) -> PlatformMaintenance:
        problems = bound_problems(self.snapshot_retention.expire_after, self.snapshot_retention.keep_last,
                                  self.orphan_files_older_than, self.bounds)
        if problems:
            raise ValueError("; ".join(f"platform default {p.field} {p.message}" for p in problems))
        return self

    def policy(self) -> MaintenancePolicy:
        return MaintenancePolicy.model_validate(self.model_dump(exclude={"bounds"}))


# Overrides: every field optional (None = inherit), so a tenant or pipeline names only what it changes.


class SnapshotRetentionOverride(Model):
    expire_after: Duration | None = None
    keep_last: int | None = Field(default=None, ge=1, le=_KEEP_LAST_MAX)


class CompactionOverride(Model):
    target_file_size_mb: int | None = Field(default=None, ge=1, le=_FILE_SIZE_MB_MAX)
    min_input_files: int | None = Field(default=None, ge=2, le=10_000)


class PipelineMaintenance(Model):
    """A pipeline's changes to its table's maintenance (the schedule is the tenant's)."""

    enabled: bool | None = None
    snapshot_retention: SnapshotRetentionOverride | None = None
    compaction: CompactionOverride | None = None
    orphan_files_older_than: Duration | None = None

    def bound_problems(self, bounds: MaintenanceBounds) -> list[BoundProblem]:
        snapshots = self.snapshot_retention or SnapshotRetentionOverride()
        return bound_problems(snapshots.expire_after, snapshots.keep_last, self.orphan_files_older_than, bounds)


class TenantMaintenance(PipelineMaintenance):
    """A tenant's changes to the maintenance of all its tables, and its maintenance DAG's schedule."""

    schedule: Schedule | None = None
