"""When a table was last loaded, read from its snapshots (the maintenance DAG's freshness metric).

The current snapshot's time is not it: compaction and retention commit snapshots too (they carry the
load state, but no run id). The last load is the newest snapshot whose summary names a run id
(``tenantflow.run-id``, written by every load commit, also a state-only one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tenantflow.loading.state import RUN_ID


def last_load_time(table: Any) -> dt.datetime | None:
    """UTC time of the table's last load commit; None when no tenantflow run loaded it (or expiry removed all)."""
    loads = [s.timestamp_ms for s in table.snapshots() if s.summary and RUN_ID in s.summary.additional_properties]
    return dt.datetime.fromtimestamp(max(loads) / 1000, tz=dt.UTC) if loads else None
