"""Data classification: ordering, Iceberg table/column properties, and the unmasked-PII load guard.

Levels are ordered public < internal < restricted < highly_restricted. A column's classification is
its declared one or, failing that, the table's; a table holding a column classified higher than the
table itself is raised to that level (a table is as sensitive as its most sensitive column).

Iceberg has table properties but no column properties, so column classifications are written as
table properties ``tenantflow.column.<name>.classification`` (plus ``.pii`` and ``.masking`` when
known) and, for readers that look at the schema, as column docs (:func:`column_docs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from tenantflow.config.models import Classification

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from tenantflow.pii.findings import ColumnFinding

ORDER: tuple[Classification, ...] = (
    Classification.public,
    Classification.internal,
    Classification.restricted,
    Classification.highly_restricted,
)
# Unmasked PII may only be loaded into tables at or above this level.
PII_FLOOR = Classification.restricted
TABLE_PROPERTY = "tenantflow.classification"
COLUMN_PROPERTY = "tenantflow.column.{column}.{key}"


def rank(level: str | Classification) -> int:
    return ORDER.index(Classification(level))


def highest(levels: Iterable[str | Classification]) -> Classification:
    return max((Classification(level) for level in levels), key=rank, default=Classification.public)


def column_level(
    column: str, table_level: str | Classification, columns: Mapping[str, str | Classification] | None = None
) -> Classification:
    return Classification((columns or {}).get(column, table_level))


def effective_table_level(
    table_level: str | Classification, columns: Mapping[str, str | Classification] | None = None
) -> Classification:
    return highest([table_level, *(columns or {}).values()])


def table_properties(
    table_level: str | Classification,
    columns: Mapping[str, str | Classification] | None = None,
    *,
    findings: Iterable[ColumnFinding] = (),
    plan: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Iceberg table properties carrying the table's and each known column's classification.

    Columns covered: those with a declared classification, those with PII findings, and those in
    the masking plan (dropped columns are left out: they are not in the table).
    """
    columns, plan = dict(columns or {}), dict(plan or {})
    pii_types: dict[str, list[str]] = {}
    for finding in findings:
        pii_types.setdefault(finding.column, []).append(finding.pii_type)
    props = {TABLE_PROPERTY: effective_table_level(table_level, columns).value}
    for column in sorted({*columns, *pii_types, *plan}):
        if plan.get(column) == "drop":
            continue
        key = COLUMN_PROPERTY.format(column=column, key="{}").format
        props[key("classification")] = column_level(column, table_level, columns).value
        if column in pii_types:
            props[key("pii")] = ",".join(sorted(set(pii_types[column])))
        if column in plan:
            props[key("masking")] = plan[column]
    return props


def column_docs(properties: Mapping[str, str]) -> dict[str, str]:
    """Column doc strings ("classification=restricted; pii=email; masking=hash") from :func:`table_properties`."""
    prefix = "tenantflow.column."
    docs: dict[str, list[str]] = {}
    for name, value in properties.items():
        if name.startswith(prefix):
            column, _, key = name[len(prefix) :].rpartition(".")
            docs.setdefault(column, []).append(f"{key}={value}")
    return {column: "; ".join(parts) for column, parts in docs.items()}


class UnmaskedPiiError(ValueError):
    """Unmasked PII would be loaded into a table classified below ``restricted``."""


def unmasked_findings(
    findings: Iterable[ColumnFinding],
    plan: Mapping[str, str],
    table_level: str | Classification,
    columns: Mapping[str, str | Classification] | None = None,
) -> list[ColumnFinding]:
    """Findings in columns left clear (no masking method, or ``none``) whose level is below restricted."""
    return [
        f
        for f in findings
        if plan.get(f.column, "none") == "none" and rank(column_level(f.column, table_level, columns)) < rank(PII_FLOOR)
    ]


def require_masked(
    findings: Iterable[ColumnFinding],
    plan: Mapping[str, str],
    classification: str | Classification,
    *,
    pipeline: str = "pipeline",
    columns: Mapping[str, str | Classification] | None = None,
    declared_clear: Iterable[str] = (),
) -> None:
    """Raise :class:`UnmaskedPiiError` if unmasked PII would load below ``restricted``.

    PII is what the scan found plus ``declared_clear``: columns the config declares as PII kept clear
    (method ``none``), which count even when detection is off or finds nothing.
    The message names the pipeline, columns, PII types and counts — never a value — and how to fix it.
    """
    leaks = unmasked_findings(findings, plan, classification, columns)
    lines = [
        f"  - column {f.column!r}: {f.pii_type} in {f.matched}/{f.sampled} sampled values"
        f" (column classified {column_level(f.column, classification, columns).value!r})"
        for f in leaks
    ]
    flagged = [f.column for f in leaks]
    for column in declared_clear:
        level = column_level(column, classification, columns)
        if column not in flagged and plan.get(column, "none") == "none" and rank(level) < rank(PII_FLOOR):
            lines.append(f"  - column {column!r}: declared as PII kept clear (method none), classified {level.value!r}")
            flagged.append(column)
    if not flagged:
        return
    raise UnmaskedPiiError(
        f"pipeline {pipeline!r} would load unmasked PII into a table classified "
        f"{Classification(classification).value!r}"
        f" (unmasked PII needs {PII_FLOOR.value!r} or above):\n"
        + "\n".join(lines)
        + "\nFix one of: declare masking for the column in the pipeline YAML, e.g.\n"
        f"  pii:\n    columns:\n      {flagged[0]}: {{method: hash}}   # or redact, partial, drop\n"
        "or set `pii.auto: hash` to mask every detected column, or raise `classification` "
        "(of the pipeline, or of the column under pii.columns) to 'restricted'."
    )


def write_to_iceberg(table: Table, properties: Mapping[str, str]) -> dict[str, str]:
    """Set the classification properties on an Iceberg table and mirror them as column docs.

    One transaction; only changed properties and docs are written, so a re-run commits nothing. Column
    properties of columns the table does not have (e.g. dropped ones) are written as properties only.
    Returns what changed (properties and ``doc:<column>`` entries).
    """
    changed = {k: v for k, v in properties.items() if table.properties.get(k) != v}
    fields = {field.name: field for field in table.schema().fields}
    docs = {
        column: doc for column, doc in column_docs(properties).items() if column in fields and fields[column].doc != doc
    }
    if changed or docs:
        with table.transaction() as tx:
            if changed:
                tx.set_properties(**changed)
            if docs:
                with tx.update_schema() as update:
                    for column, doc in docs.items():
                        update.update_column(column, doc=doc)
    return {**changed, **{f"doc:{column}": doc for column, doc in docs.items()}}
