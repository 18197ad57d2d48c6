"""The transform stage of a run: read this run's batch, apply the pipeline's SQL, publish 'transformed'.

The input is the quality-approved batch when the quality stage published one, else the raw batch;
the output is the run's ``transformed`` derived batch, which the load stage then writes with the
target's write mode. Lookup tables come from the tenant's own catalog namespace(s) only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tenantflow import naming
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.landing.batch import Manifest
from tenantflow.landing.store import LandingHook

if TYPE_CHECKING:
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)

APPROVED, TRANSFORMED = "approved", "transformed"


def transform_input(raw: LandingHook) -> LandingHook:
    """The batch a transform reads: quality-approved rows if published, else the raw batch."""
    approved = raw.derived(APPROVED)
    return approved if approved.exists() else raw


def lookup_identifier(ctx: PipelineContext, table: str) -> str:
    """'table' is in the tenant's namespace; 'namespace.table' must be a namespace the tenant owns."""
    namespace, _, name = table.rpartition(".")
    namespace = namespace or ctx.namespace
    if not naming.owns_namespace(ctx.tenant_id, namespace):
        raise TenantIsolationError(f"tenant {ctx.tenant_id!r} may not read lookup table {table!r}")
    return naming.table_identifier(namespace, name)


def read_lookups(ctx: PipelineContext, catalog: Any) -> dict[str, Any]:
    """Each lookup table of the transform as an Arrow table (scanned through pyiceberg)."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    out = {}
    for name, table in ctx.pipeline.transform.lookups.items():
        identifier = lookup_identifier(ctx, table)
        try:
            out[name] = catalog.load_table(identifier).scan().to_arrow()
        except (NoSuchTableError, NoSuchNamespaceError):
            raise LookupError(f"lookup {name!r}: table {identifier} does not exist (load it with its own "
                              "pipeline first)") from None
        log.info("lookup %s = %s (%d rows)", name, identifier, out[name].num_rows)
    return out


def batch_dataset(hook: LandingHook) -> Any:
    """The landed parts as one lazily scanned Arrow dataset (schemas of the parts unified)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from tenantflow.landing.storage import filesystem, join

    manifest = hook.manifest()
    fs, final = filesystem(hook.location.final)
    paths = [join(final, name) for name in manifest.files]
    if not paths:
        schema = pa.schema([(c["name"], pa.string()) for c in manifest.schema])
        return pa.table({f.name: pa.array([], f.type) for f in schema}, schema=schema)
    schemas = [ds.dataset(p, filesystem=fs, format="parquet").schema for p in paths]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    return ds.dataset(paths, schema=schema, filesystem=fs, format="parquet")


def run_local_transform(ctx: PipelineContext, run_id: str, catalog: Any) -> Manifest:
    """Transform this run's batch with DuckDB and publish it as the ``transformed`` batch (idempotent)."""
    from tenantflow.loading.arrow_types import iceberg_compatible
    from tenantflow.processing.local_engine import run_sql

    raw = LandingHook(ctx.batch(run_id))
    existing = raw.derived(TRANSFORMED)
    if existing.exists() and existing.damage() is None:  # a damaged one is transformed and published again
        log.info("the transformed batch of run %s is already published", run_id)
        return existing.manifest()
    source = transform_input(raw)
    stage = source.location.stage or "raw"
    if source.manifest().rows == 0:  # no new files or every row set aside: nothing for the SQL to read
        log.info("the %s batch is empty: the transformed batch is empty too (its state still commits)", stage)
        return raw.publish_derived(TRANSFORMED, [], source=f"transform of the empty {stage} batch")
    transform = ctx.pipeline.transform
    tables = run_sql(transform.sql, batch_dataset(source), read_lookups(ctx, catalog))
    manifest = raw.publish_derived(TRANSFORMED, map(iceberg_compatible, tables),
                                   source=f"transform of the {stage} batch")
    log.info("transformed %d rows of the %s batch into %d part(s)", manifest.rows, stage, len(manifest.files))
    return manifest
