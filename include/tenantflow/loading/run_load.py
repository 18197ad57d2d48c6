"""Load one run's batch into the pipeline's table: shared by the load task and the Databricks job.

PII detection and masking run here, so both engines protect the rows the same way before anything
is written.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tenantflow.catalog.hook import IcebergHook
from tenantflow.landing.store import LandingHook
from tenantflow.loading.commit import PlannedLoad
from tenantflow.metrics.emit import part_bytes
from tenantflow.pii.pipeline import pipeline_policy, pipeline_secret, protect_rows

if TYPE_CHECKING:
    from tenantflow.landing.batch import Manifest
    from tenantflow.loading.commit import StreamMerge
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


def planned_load(ctx: PipelineContext, manifest: Manifest) -> PlannedLoad:
    """What the run's extract read and the load state it planned on, from the batch's manifest."""
    pipeline = ctx.pipeline
    mode = pipeline.target.mode
    incremental = pipeline.incremental
    return PlannedLoad(
        run_id=manifest.run_id, pipeline_id=pipeline.id, watermark=manifest.watermark,
        source_files=tuple(manifest.source_files), planned_watermark=manifest.planned_watermark,
        checks_watermark=manifest.incremental and mode != "overwrite",
        filters_moved_watermark=not (incremental and incremental.lookback_seconds),
        cursor=incremental.cursor if incremental else None,
        tracks_files=mode != "overwrite" and not getattr(pipeline.source, "reload_all", False),
        delete_flag=pipeline.target.delete_flag or getattr(pipeline.source, "deleted_column", None),
    )


def load_run(ctx: PipelineContext, run_id: str, hook: IcebergHook | None = None, *,
             stream_merge: StreamMerge | None = None, replace_table: bool = False) -> dict[str, Any]:
    """Write the run's load input (last derived batch, else raw) with the target's write mode, once per run id.

    ``stream_merge``: a micro-batch of a stream source, whose stream position is committed with its rows
    (also when it has none: the position moved over poison or redelivered messages). ``replace_table``: the
    micro-batch is the whole table (a CDC snapshot) and replaces its rows."""
    raw = LandingHook(ctx.batch(run_id))
    landing = raw.load_input()
    landing.verify()  # every part as landed (rows, size, SHA-256), else DamagedBatch before anything is written
    if landing is not raw:
        log.info("loading the %r batch of this run", landing.location.stage)
    manifest = landing.manifest()
    hook = hook or IcebergHook(ctx)
    planned = planned_load(ctx, manifest)
    if stream_merge is not None:
        planned = replace(planned, stream_merge=stream_merge, replace_table=replace_table)
    if manifest.rows == 0:
        log.warning("the batch is empty: nothing to load (an empty batch never overwrites a table)")
        read_rows = manifest.rows if landing is raw else raw.manifest().rows
        if read_rows or manifest.source_files or stream_merge is not None:  # rows read but set aside: keep the state
            committed = hook.commit_state(planned)
            return {"table": ctx.table_identifier, "rows": 0, "skipped": True, "state_committed": bool(committed)}
        return {"table": ctx.table_identifier, "rows": 0, "skipped": True}
    # the plan comes from a sample; unmasked PII below `restricted` fails here, before anything is written
    secret = pipeline_secret(ctx)
    protection = protect_rows(ctx, landing.sample(pipeline_policy(ctx).sample_rows), secret)
    log.info("PII: %s", protection.summary())
    if protection.plan:  # masked columns: the rows are rewritten, never the landed files added as they are
        from tenantflow.pii.masking import apply_masking

        result = hook.write(apply_masking(landing.read(), protection.plan, secret()), planned)
    else:
        parts, schemas = landing.parts()
        result = hook.append_landed(parts, schemas, manifest.rows, planned, landing.read)
        if result is None:  # merge, overwrite, partitioned or evolving tables: write the rows
            result = hook.write(landing.read(), planned)
    hook.classify(protection.properties)
    return {**result.as_dict(), "pii": protection.summary(), "bytes": part_bytes(manifest.parts)}
