"""Table documentation from config: the table comment, column comments and the tenant's own properties."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from tenantflow.config.models import Target

log = logging.getLogger(__name__)


def documented_properties(target: Target) -> dict[str, str]:
    props = dict(target.properties)
    if target.comment:
        props["comment"] = target.comment
    return props


def apply_column_comments(table: Table, target: Target) -> list[str]:
    """Set the column docs the config names; returns the columns changed (unknown columns are logged)."""
    fields = {f.name: f for f in table.schema().fields}
    missing = sorted(set(target.column_comments) - set(fields))
    if missing:
        log.warning("column_comments name column(s) %s that table %s does not have", missing, table.name())
    changed = [name for name, doc in sorted(target.column_comments.items())
               if name in fields and fields[name].doc != doc]
    if changed:
        with table.update_schema() as update:
            for name in changed:
                update.update_column(name, doc=target.column_comments[name])
    return changed
