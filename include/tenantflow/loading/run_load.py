"""Load one run's batch into the pipeline's table: shared by the load task and the Databricks job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tenantflow.hooks.iceberg import IcebergHook
from tenantflow.hooks.landing import LandingHook

if TYPE_CHECKING:
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)


def load_run(ctx: PipelineContext, run_id: str, hook: IcebergHook | None = None) -> dict[str, Any]:
    """Write the run's load input (last derived batch, else raw) with the target's write mode, once per run id."""
    raw = LandingHook(ctx.batch(run_id))
    landing = raw.load_input()
    if landing is not raw:
        log.info("loading the %r batch of this run", landing.location.stage)
    manifest = landing.manifest()
    if manifest.rows == 0:
        log.warning("the batch is empty: nothing to load (an empty batch never overwrites a table)")
        return {"table": ctx.table_identifier, "rows": 0, "skipped": True}
    hook = hook or IcebergHook(ctx)
    parts, schemas = landing.parts()
    state = {"run_id": manifest.run_id, "watermark": manifest.watermark, "source_files": manifest.source_files}
    result = hook.append_landed(parts, schemas, manifest.rows, **state)
    if result is None:  # merge, overwrite, partitioned or evolving tables: write the rows
        result = hook.write(landing.read(), **state)
    return result.as_dict()
