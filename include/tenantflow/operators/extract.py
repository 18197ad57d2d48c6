"""Extract: read the source (only new rows for incremental pipelines) into staged Parquet parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.landing.store import LandingHook
from tenantflow.loading.watermark import behind, to_text
from tenantflow.metrics import emit
from tenantflow.operators.base import PipelineStageOperator


class ExtractOperator(PipelineStageOperator):
    ui_color = "#d6eaf8"
    lineage_stage = "extract"

    def execute(self, context: Any) -> dict[str, Any]:
        ctx = self.pipeline_ctx
        pipeline = ctx.pipeline
        arrived = self._arrived_objects(context)  # first: an event of another tenant starts no work
        cursor = pipeline.incremental.cursor if pipeline.incremental else None
        watermark = planned_watermark = None
        incremental = pipeline.incremental
        if cursor is not None:
            from tenantflow.catalog.hook import IcebergHook

            planned_watermark = watermark = None if incremental.full_refresh else IcebergHook(ctx).watermark()
            if watermark is not None and incremental.lookback_seconds:
                watermark = behind(watermark, incremental.lookback_seconds)
            self.log.info("incremental on %s: reading rows after %r%s", cursor, watermark,
                          " (full refresh)" if incremental.full_refresh else "")
        from tenantflow.loading.arrow_types import iceberg_compatible
        from tenantflow.sources.bad_rows import BadRowError, BadRows, TooManyRejectedRows
        from tenantflow.sources.base import ExtractRequest
        from tenantflow.sources.registry import source_hook

        source = pipeline.source
        bad_rows = BadRows(getattr(source, "on_bad_rows", "fail"), getattr(source, "max_rejected_rows", None))
        batch = ctx.batch(self.run_id(context))
        request = ExtractRequest(source=source, bad_rows=bad_rows, cursor=cursor, watermark=watermark,
                                 location=ctx.source_location, loaded_files=self._loaded_files(),
                                 notified_files=arrived.files if arrived is not None else None)
        read = source_hook(ctx.tenant_id, source).extract(request)
        description, source_files = read.description, read.source_files
        try:
            # land Iceberg-compatible types, so an append can add the landed files as they are
            staged = LandingHook(batch).stage(map(iceberg_compatible, read.tables), cursor=cursor)
        except (BadRowError, TooManyRejectedRows) as exc:
            raise AirflowFailException(f"{description}: {exc}") from exc  # the same input fails again
        rejected_at = bad_rows.write(batch.rejects, batch.kms_key_id)
        new_watermark = to_text(staged.max_cursor) if staged.max_cursor is not None else planned_watermark
        self.log.info("extracted %d rows from %s into %d part(s)%s", staged.rows, description, len(staged.files),
                      f"; {bad_rows.count} malformed row(s) rejected to {rejected_at}" if bad_rows.count else "")
        emit.stage_volume(ctx, "extract", rows=staged.rows, bytes=emit.part_bytes(staged.parts),
                          rejected_rows=bad_rows.count)
        result = {"rows": staged.rows, "files": staged.files, "source": description, "watermark": new_watermark,
                # the load state this read was planned on: the load re-checks it at commit
                "incremental": cursor is not None and not incremental.full_refresh,
                "planned_watermark": planned_watermark,
                "source_files": source_files, "rejected_rows": bad_rows.count,
                "rejected_reasons": bad_rows.reasons(), "rejects": rejected_at,
                **({"refused_objects": list(arrived.refused)} if arrived is not None and arrived.refused else {})}
        from tenantflow.landing.batch import describe_schema

        return self.record_lineage(context, result, schema=describe_schema(staged.schema or []),
                                   bytes=emit.part_bytes(staged.parts))

    def _arrived_objects(self, context: Any) -> Any:
        """The run's own triggering events (or fail); for a file-arrival run, the objects they notify.

        None: read the source as usual — no event schedule, or a cron/manual run of a file-arrival pipeline
        (which lists ``source.path``: a sweep that also picks up objects whose notification was lost).
        """
        from tenantflow.isolation.asset_events import require_own_asset_events
        from tenantflow.isolation.guards import TenantIsolationError

        ctx = self.pipeline_ctx
        try:
            events = require_own_asset_events(ctx, context)
        except TenantIsolationError as exc:
            raise AirflowFailException(str(exc)) from exc
        schedule = ctx.pipeline.schedule
        if not events or schedule is None or schedule.on != "file_arrival":
            return None
        from tenantflow import naming
        from tenantflow.sources.arrivals import arrived_objects

        arrived = arrived_objects(events, naming.arrival_asset_uri(ctx.tenant_id, ctx.pipeline.id),
                                  ctx.source_location(ctx.pipeline.source.path))
        self.log.info("file arrival: %d notification record(s), %d object(s) to load, %d refused, %d skipped",
                      arrived.notifications, len(arrived.files), len(arrived.refused), len(arrived.skipped))
        return arrived

    def _loaded_files(self) -> Callable[[Iterable[str]], set[str]] | None:
        """append/merge files pipelines skip files committed by earlier runs; overwrite or reload_all reads all."""
        ctx = self.pipeline_ctx
        source = ctx.pipeline.source
        if source.kind != "files" or ctx.pipeline.target.mode == "overwrite" or source.reload_all:
            return None
        from tenantflow.catalog.hook import IcebergHook

        return IcebergHook(ctx).loaded_files
