"""What each stage reads and writes, as an ``OperatorLineage`` for the OpenLineage provider.

``stage_lineage(stage, ctx, record)`` builds it from the pipeline's config and, at completion, from
``record``: what the task recorded when it ran (``record_run``: its XCom result plus the schemas of the
batches and the table it read or wrote). On start (``record`` None) the events name the datasets only.

| stage | inputs | outputs |
|---|---|---|
| extract | the source (SQL table, files, HTTP endpoint, queue) | the pipeline's staged parts |
| land | the staged parts | the landed batches |
| quality | the landed batch, with data-quality facets | quarantine table + approved batch (rows quarantined) |
| transform | the batch and the lookup tables | the transformed batches, with column lineage |
| load | the batch it loaded | the Iceberg table |
| register | (none) | the Iceberg table, with its classification and PII tags |
| consume | the stream (queue, CDC table) | the Iceberg table |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.openlineage.extractors import OperatorLineage

from tenantflow.lineage import facets
from tenantflow.lineage.datasets import DatasetId, landing_dataset, source_datasets, table_dataset

if TYPE_CHECKING:
    from tenantflow.pipeline_context import PipelineContext

Record = dict[str, Any]


def stage_lineage(stage: str, ctx: PipelineContext, record: Record | None) -> OperatorLineage:
    inputs, outputs = BUILDERS[stage](ctx, record or {})
    run_facets = facets.pipeline_run_facet(ctx.tenant_id, ctx.pipeline.id, stage, str(ctx.classification))
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _rows(record: Record) -> int | None:
    rows = record.get("rows")
    return None if rows is None else int(rows)


def _files(record: Record) -> int | None:
    files = record.get("files")
    return len(files) if isinstance(files, list) else files


def _extract(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    columns = facets.schema(record.get("schema"))
    inputs = [facets.input_dataset(d, columns) for d in source_datasets(ctx)]
    output = facets.output_dataset(landing_dataset(ctx, "staging"), columns,
                                   facets.output_statistics(_rows(record), files=_files(record)))
    return inputs, [output]


def _land(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    output = facets.output_dataset(landing_dataset(ctx, "raw"), facets.schema(record.get("schema")),
                                   facets.output_statistics(_rows(record), record.get("bytes"), _files(record)))
    return [facets.input_dataset(landing_dataset(ctx, "staging"))], [output]


def _quality(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    input_facets: dict[str, Any] = {}
    if "rules" in record:
        input_facets, _ = facets.quality(record["rules"], rule_columns(ctx), rows=_rows(record),
                                         score=record.get("score"), quarantined=int(record.get("quarantined_rows", 0)))
    batch = facets.input_dataset(landing_dataset(ctx, "raw"), facets.schema(record.get("schema")), input_facets)
    outputs = []
    quarantined = int(record.get("quarantined_rows", 0))
    if quarantined:
        quarantine = table_dataset(ctx, f"{ctx.namespace}.{ctx.pipeline.target.table}__quarantine")
        outputs = [facets.output_dataset(quarantine, facets.tags(str(ctx.classification)),
                                         facets.output_statistics(quarantined)),
                   facets.output_dataset(landing_dataset(ctx, "approved"))]
    return [batch], outputs


def rule_columns(ctx: PipelineContext) -> dict[str, str | None]:
    """Rule label (as the quality report names it) -> the one column it checks, from config."""
    from tenantflow.quality.report import describe

    out: dict[str, str | None] = {}
    for rule in ctx.pipeline.quality:
        column = getattr(rule, "column", None)
        columns = getattr(rule, "columns", None)
        if column is None and isinstance(columns, tuple | list) and len(columns) == 1:
            column = columns[0]
        out[describe(rule)] = column if isinstance(column, str) else None
    return out


def _transform(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    from tenantflow.config.transform import BATCH_RELATION

    transform = ctx.pipeline.transform
    batch = landing_dataset(ctx, record.get("input_stage", "raw"))
    relations = {BATCH_RELATION: batch, **{name: table_dataset(ctx, t) for name, t in transform.lookups.items()}}
    input_schema = record.get("input_schema")
    inputs = [facets.input_dataset(batch, facets.schema(input_schema)),
              *(facets.input_dataset(relations[name]) for name in transform.lookups)]
    output_facets = {**facets.schema(record.get("schema")),
                     **transform_column_lineage(ctx, relations, input_schema)}
    output = facets.output_dataset(landing_dataset(ctx, "transformed"), output_facets,
                                   facets.output_statistics(_rows(record), files=_files(record)))
    return inputs, [output]


def transform_column_lineage(ctx: PipelineContext, relations: dict[str, DatasetId],
                             batch_columns: list[dict[str, str]] | None) -> dict[str, Any]:
    from tenantflow.config.transform import BATCH_RELATION
    from tenantflow.lineage.columns import column_lineage

    known = {BATCH_RELATION: [c["name"] for c in batch_columns]} if batch_columns else None
    parsed = column_lineage(ctx.pipeline.transform.sql, known)

    def pairs(columns) -> list[tuple[DatasetId, str]]:
        return [(relations[c.relation], c.column) for c in columns if c.relation in relations]

    return facets.column_lineage({name: (subtype, pairs(cols)) for name, (subtype, cols) in parsed.direct.items()},
                                 {subtype: pairs(cols) for subtype, cols in parsed.indirect.items()})


def _table_output(ctx: PipelineContext, record: Record, statistics: dict[str, Any]) -> Any:
    table_facets = {**facets.schema(record.get("table_schema")), **facets.catalog(ctx.catalog_name,
                    ctx.catalog_settings.type), **facets.tags(str(ctx.classification), record.get("table_properties"))}
    return facets.output_dataset(table_dataset(ctx), table_facets, statistics)


def _load(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    stage = record.get("input_stage") or ("transformed" if ctx.pipeline.transform is not None else "raw")
    batch = landing_dataset(ctx, stage)
    input_schema = record.get("input_schema")
    output = _table_output(ctx, record, facets.output_statistics(_rows(record), record.get("bytes")))
    if input_schema and record.get("table_schema"):  # each written column from the batch column of its name
        written = {c["name"] for c in record["table_schema"]}
        masked = (record.get("pii") or {}).get("masking") or {}
        output.facets.update(facets.column_lineage(
            {c["name"]: ("IDENTITY" if c["name"] not in masked else "TRANSFORMATION", [(batch, c["name"])])
             for c in input_schema if c["name"] in written}, masked=masked))
    return [facets.input_dataset(batch, facets.schema(input_schema))], [output]


def _register(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    if record and not record.get("registered", True):
        return [], []
    return [], [_table_output(ctx, record, {})]


def _consume(ctx: PipelineContext, record: Record) -> tuple[list, list]:
    inputs = [facets.input_dataset(d) for d in source_datasets(ctx)]
    return inputs, [_table_output(ctx, record, facets.output_statistics(_rows(record)))]


BUILDERS: dict[str, Callable[[PipelineContext, Record], tuple[list, list]]] = {
    "extract": _extract, "land": _land, "quality": _quality, "transform": _transform, "load": _load,
    "register": _register, "consume": _consume,
}


def record_run(stage: str, ctx: PipelineContext, run_id: str, result: Record, known: Record) -> Record:
    """What the completion event needs beyond the XCom ``result``: schemas of what the stage read and wrote
    (read back from the batch manifests and the table), in the task, with the tenant's identity."""
    record = {**(result or {}), **known}
    if stage in ("transform", "load"):
        from tenantflow.landing.store import LandingHook

        raw = LandingHook(ctx.batch(run_id))
        if stage == "transform":
            approved = raw.derived("approved")
            source = approved if approved.exists() else raw
        else:
            source = raw.load_input()
        record["input_stage"] = source.location.stage or "raw"
        record["input_schema"] = source.manifest().schema
    if stage in ("load", "register", "consume"):
        from tenantflow.catalog.hook import IcebergHook

        table = IcebergHook(ctx).table()
        if table is not None:
            record["table_schema"] = [{"name": f.name, "type": str(f.field_type)} for f in table.schema().fields]
            record["table_properties"] = dict(table.properties)
    return record
