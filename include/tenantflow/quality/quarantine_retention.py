"""Quarantine retention: delete the quarantined rows older than the pipeline's maximum age.

Rows are aged by ``_quarantined_at`` (when the quality task set them aside). The delete is one
Iceberg commit (whole files dropped, partly old files rewritten); the old rows stay readable through
earlier snapshots until snapshot expiry removes those, so the maximum age of a quarantined row is this
age plus the table's ``snapshot_retention.expire_after``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tenantflow.quality.quarantine import QUARANTINE_COLUMNS

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

QUARANTINED_AT = QUARANTINE_COLUMNS[-1]
EXPIRED_ROWS = "tenantflow.expired-quarantine-rows"
CUTOFF = "tenantflow.expired-quarantine-before"


def expire_quarantine(
    table: Table,
    max_age: timedelta,
    now: datetime | None = None,
    *,
    snapshot_properties: Mapping[str, str] | None = None,
) -> int:
    """Delete the rows of the quarantine ``table`` quarantined more than ``max_age`` before ``now``.

    Returns the number of rows deleted; nothing is committed when no row is that old. The commit's
    snapshot summary carries ``snapshot_properties`` (the caller's run state) plus the cutoff and count.
    """
    from pyiceberg.expressions import LessThan

    if max_age <= timedelta(0):
        raise ValueError(f"quarantine max_age must be positive, got {max_age}")
    if QUARANTINED_AT not in {field.name for field in table.schema().fields}:
        raise ValueError(f"table {'.'.join(table.name())} has no {QUARANTINED_AT!r} column: not a quarantine table")
    now = now or datetime.now(UTC)
    cutoff = (now if now.tzinfo else now.replace(tzinfo=UTC)) - max_age
    older = LessThan(QUARANTINED_AT, cutoff.astimezone(UTC).isoformat())
    rows = table.scan(row_filter=older, selected_fields=(QUARANTINED_AT,)).to_arrow().num_rows
    if rows == 0:
        return 0
    properties = {**(snapshot_properties or {}), EXPIRED_ROWS: str(rows), CUTOFF: cutoff.isoformat()}
    table.delete(delete_filter=older, snapshot_properties=properties)
    log.info("%s: deleted %d quarantined row(s) older than %s", ".".join(table.name()), rows, max_age)
    return rows
