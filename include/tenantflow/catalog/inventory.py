"""What ``tenantflow tables <tenant>`` shows: the tenant's tables with schema, snapshots, last load and rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tenantflow import naming
from tenantflow.loading.state import RUN_ID


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    required: bool
    comment: str | None = None


@dataclass(frozen=True)
class TableInfo:
    identifier: str
    pipeline: str | None
    rows: int | None
    snapshots: int
    last_load: str | None
    last_run_id: str | None
    comment: str | None
    columns: list[ColumnInfo] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tenant_tables(catalog: Any, tenant_id: str, namespace: str) -> list[TableInfo]:
    """Every table in the tenant's namespace (only a namespace the tenant owns is listed)."""
    from pyiceberg.exceptions import NoSuchNamespaceError

    if not naming.owns_namespace(tenant_id, namespace):
        raise PermissionError(f"namespace {namespace!r} does not belong to tenant {tenant_id!r}")
    try:
        identifiers = sorted(catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        return []
    return [describe(catalog.load_table(identifier)) for identifier in identifiers]


def describe(table: Any) -> TableInfo:
    snapshot = table.current_snapshot()
    summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
    rows = int(summary["total-records"]) if "total-records" in summary else (0 if snapshot is None else None)
    last_load = (datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC).isoformat(timespec="seconds")
                 if snapshot else None)
    columns = [ColumnInfo(f.name, str(f.field_type), f.required, f.doc) for f in table.schema().fields]
    return TableInfo(
        identifier=".".join(table.name()), pipeline=table.properties.get("tenantflow.pipeline"), rows=rows,
        snapshots=len(table.snapshots()), last_load=last_load, last_run_id=summary.get(RUN_ID),
        comment=table.properties.get("comment"), columns=columns,
    )


def render(tables: list[TableInfo]) -> list[str]:
    lines = []
    for t in tables:
        rows = "?" if t.rows is None else f"{t.rows:,}"
        lines.append(f"{t.identifier}  pipeline={t.pipeline or '-'}  rows={rows}  snapshots={t.snapshots}  "
                     f"last_load={t.last_load or 'never'}" + (f"  run={t.last_run_id}" if t.last_run_id else ""))
        if t.comment:
            lines.append(f"  -- {t.comment}")
        width = max((len(c.name) for c in t.columns), default=0)
        for c in t.columns:
            doc = f"  -- {c.comment}" if c.comment else ""
            lines.append(f"  {c.name.ljust(width)}  {c.type}{' NOT NULL' if c.required else ''}{doc}")
    return lines
