"""The facets tenantflow adds to the provider's events: OpenLineage's standard ones, plus two of its own.

Standard: ``schema`` (columns and types as the stage read or wrote them), ``outputStatistics`` (rows,
bytes, files), ``dataQualityAssertions`` (each rule: assertion, success, column, severity, flagged rows
as ``actual``), ``dataQualityMetrics`` (rows, NULL counts of ``not_null`` columns), ``catalog`` (the
Iceberg catalog), ``tags`` (the classification of the table and its columns, the PII types of columns),
``columnLineage``.

tenantflow's own (``_schemaURL`` pointing at docs/lineage-facets.json): ``tenantflow_pipeline`` (run facet:
tenant, pipeline, stage, classification) and ``tenantflow_quality`` (input facet of the quality stage: score,
flagged and quarantined rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attr
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    InputDatasetFacet,
    RunFacet,
    catalog_dataset,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    output_statistics_output_dataset,
    schema_dataset,
    tags_dataset,
)

from tenantflow.lineage.datasets import DatasetId

FACETS_SCHEMA = "https://github.com/tenantflow/tenantflow/blob/main/docs/lineage-facets.json"
TAG_SOURCE = "tenantflow"
PII_PROPERTY_PREFIX = "tenantflow.column."


@attr.define
class TenantflowPipelineRunFacet(RunFacet):
    tenant: str
    pipeline: str
    stage: str
    classification: str

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/TenantflowPipelineRunFacet"


@attr.define
class TenantflowQualityInputFacet(InputDatasetFacet):
    score: float | None
    flaggedRows: int  # noqa: N815 (OpenLineage facet fields are camelCase)
    quarantinedRows: int  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/TenantflowQualityInputFacet"


def input_dataset(dataset: DatasetId, facets: Mapping[str, Any] | None = None,
                  input_facets: Mapping[str, Any] | None = None) -> InputDataset:
    return InputDataset(namespace=dataset.namespace, name=dataset.name, facets=dict(facets or {}),
                        inputFacets=dict(input_facets or {}))


def output_dataset(dataset: DatasetId, facets: Mapping[str, Any] | None = None,
                   output_facets: Mapping[str, Any] | None = None) -> OutputDataset:
    return OutputDataset(namespace=dataset.namespace, name=dataset.name, facets=dict(facets or {}),
                         outputFacets=dict(output_facets or {}))


def schema(columns: Sequence[Mapping[str, str]] | None) -> dict[str, Any]:
    """``{"schema": ...}`` from recorded ``[{"name", "type"}]`` columns; nothing when they are unknown."""
    if not columns:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=c.get("type")) for c in columns]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


def output_statistics(rows: int | None, size: int | None = None, files: int | None = None) -> dict[str, Any]:
    if rows is None:
        return {}
    return {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=int(rows), size=size, fileCount=files)}


def catalog(name: str, catalog_type: str) -> dict[str, Any]:
    return {"catalog": catalog_dataset.CatalogDatasetFacet(framework="iceberg", type=catalog_type, name=name,
                                                           source="tenantflow")}


def tags(classification: str, properties: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The table's classification, and per column its classification and PII type (``tenantflow.column.*``)."""
    fields = [tags_dataset.TagsDatasetFacetFields(key="classification", value=classification, source=TAG_SOURCE)]
    for key, value in sorted((properties or {}).items()):
        if key == "tenantflow.classification":
            fields[0] = tags_dataset.TagsDatasetFacetFields(key="classification", value=value, source=TAG_SOURCE)
        elif key.startswith(PII_PROPERTY_PREFIX):
            column, _, what = key[len(PII_PROPERTY_PREFIX):].rpartition(".")
            if column and what in ("classification", "pii", "masking"):
                fields.append(tags_dataset.TagsDatasetFacetFields(key=what, value=value, source=TAG_SOURCE,
                                                                  field=column))
    return {"tags": tags_dataset.TagsDatasetFacet(tags=fields)}


def quality(rules: Iterable[Mapping[str, Any]], columns_of: Mapping[str, str | None], *, rows: int | None,
            score: float | None, quarantined: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(input facets, facets) of the batch the quality stage judged, from its recorded rule outcomes.

    ``columns_of``: rule label -> the column it checks (from config). Flagged rows of a rule are its
    unexpected count (``actual``); ``nullCount`` of a column is what its ``not_null`` rule counted.
    """
    assertions, null_counts, flagged = [], {}, 0
    for rule in rules:
        label, count = rule["rule"], rule.get("unexpected_count")
        column = columns_of.get(label)
        assertions.append(data_quality_assertions_dataset.Assertion(
            assertion=label, success=bool(rule["success"]), column=column, severity=rule.get("severity"),
            description=rule.get("detail") or None, actual=None if count is None else str(count)))
        if not rule["success"]:
            flagged += count or 0
        if label.startswith("not_null(") and column and count is not None:
            null_counts[column] = data_quality_metrics_input_dataset.ColumnMetrics(nullCount=int(count))
    input_facets = {
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=assertions),
        "dataQualityMetrics": data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            columnMetrics=null_counts, rowCount=rows),
        "tenantflow_quality": TenantflowQualityInputFacet(score=score, flaggedRows=flagged,
                                                          quarantinedRows=quarantined),
    }
    return input_facets, {}


def column_lineage(fields: Mapping[str, tuple[str, Sequence[tuple[DatasetId, str]]]],
                   indirect: Mapping[str, Sequence[tuple[DatasetId, str]]] | None = None,
                   masked: Iterable[str] = ()) -> dict[str, Any]:
    """``{"columnLineage": ...}``: output column -> (subtype, [(input dataset, column)]); ``masked`` columns
    (PII masking on the way) are marked ``masking: true``."""
    cl = column_lineage_dataset
    masked = set(masked)

    def inputs(pairs: Sequence[tuple[DatasetId, str]], kind: str, subtype: str, masking: bool | None = None):
        return [cl.InputField(namespace=d.namespace, name=d.name, field=column,
                              transformations=[cl.Transformation(type=kind, subtype=subtype, masking=masking)])
                for d, column in pairs]

    out = {name: cl.Fields(inputFields=inputs(pairs, "DIRECT", subtype, True if name in masked else None))
           for name, (subtype, pairs) in fields.items() if pairs}
    dataset = [field for subtype, pairs in (indirect or {}).items() for field in inputs(pairs, "INDIRECT", subtype)]
    return {"columnLineage": cl.ColumnLineageDatasetFacet(fields=out, dataset=dataset)} if out or dataset else {}


def pipeline_run_facet(tenant: str, pipeline: str, stage: str, classification: str) -> dict[str, Any]:
    return {"tenantflow_pipeline": TenantflowPipelineRunFacet(tenant=tenant, pipeline=pipeline, stage=stage,
                                                              classification=classification)}
