"""How one table is maintained: the knobs the maintenance DAG maps a tenant's config onto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenantflow.config.maintenance import MaintenancePolicy

# A load writes its data files before it commits them; an orphan younger than this may be such a file.
MIN_ORPHAN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class TablePolicy:
    """``expire_older_than``: snapshots committed longer ago may be expired (time travel reaches this far);
    ``keep_last``: the newest snapshots kept whatever their age; ``target_file_size_bytes``: the size
    compaction writes (files under 3/4 of it count as small); ``min_input_files``: small files a partition
    needs before it is compacted; ``orphan_older_than``: the age an unreferenced file must reach before it
    is deleted (the safety window for loads that have written files but not committed them yet)."""

    expire_older_than: timedelta = timedelta(days=7)
    keep_last: int = 10
    target_file_size_bytes: int = 128 * 1024 * 1024
    min_input_files: int = 5
    orphan_older_than: timedelta = timedelta(days=3)

    def __post_init__(self) -> None:
        problems = []
        if self.expire_older_than < timedelta(0):
            problems.append(f"expire_older_than must not be negative, got {self.expire_older_than}")
        if self.keep_last < 1:
            problems.append(f"keep_last must be at least 1 (the current snapshot), got {self.keep_last}")
        if self.target_file_size_bytes < 1024 * 1024:
            problems.append(f"target_file_size_bytes must be at least 1 MiB, got {self.target_file_size_bytes}")
        if self.min_input_files < 2:
            problems.append(f"min_input_files must be at least 2 (one file has nothing to merge with), "
                            f"got {self.min_input_files}")
        if self.orphan_older_than < MIN_ORPHAN_AGE:
            problems.append(f"orphan_older_than must be at least {MIN_ORPHAN_AGE} so files of a load still "
                            f"running are not deleted, got {self.orphan_older_than}")
        if problems:
            raise ValueError("invalid maintenance policy: " + "; ".join(problems))

    @classmethod
    def from_config(cls, config: MaintenancePolicy) -> TablePolicy:
        """The engine's policy for a resolved config policy (``config.maintenance.effective_maintenance``)."""
        return cls(
            expire_older_than=config.snapshot_retention.expire_after,
            keep_last=config.snapshot_retention.keep_last,
            target_file_size_bytes=config.compaction.target_file_size_mb * 1024 * 1024,
            min_input_files=config.compaction.min_input_files,
            orphan_older_than=config.orphan_files_older_than,
        )
