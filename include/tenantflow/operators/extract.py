"""Extract: read the source (only new rows for incremental pipelines) into staged Parquet parts."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from tenantflow.config.models import SqlSource
from tenantflow.hooks.landing import LandingHook
from tenantflow.loading.watermark import after_watermark, behind, to_text
from tenantflow.operators.base import PipelineStageOperator


class ExtractOperator(PipelineStageOperator):
    ui_color = "#d6eaf8"

    def execute(self, context: Any) -> dict[str, Any]:
        ctx = self.pipeline_ctx
        pipeline = ctx.pipeline
        cursor = pipeline.incremental.cursor if pipeline.incremental else None
        watermark = planned_watermark = None
        incremental = pipeline.incremental
        if cursor is not None:
            from tenantflow.hooks.iceberg import IcebergHook

            planned_watermark = watermark = None if incremental.full_refresh else IcebergHook(ctx).watermark()
            if watermark is not None and incremental.lookback_seconds:
                watermark = behind(watermark, incremental.lookback_seconds)
            self.log.info("incremental on %s: reading rows after %r%s", cursor, watermark,
                          " (full refresh)" if incremental.full_refresh else "")
        from tenantflow.connectors.bad_rows import BadRowError, BadRows, TooManyRejectedRows
        from tenantflow.loading.arrow_types import iceberg_compatible

        source = pipeline.source
        bad_rows = BadRows(getattr(source, "on_bad_rows", "fail"), getattr(source, "max_rejected_rows", None))
        batch = ctx.batch(self.run_id(context))
        tables, description, source_files = self._source_tables(cursor, watermark, bad_rows)
        try:
            # land Iceberg-compatible types, so an append can add the landed files as they are
            staged = LandingHook(batch).stage(map(iceberg_compatible, tables), cursor=cursor)
        except (BadRowError, TooManyRejectedRows) as exc:
            raise AirflowFailException(f"{description}: {exc}") from exc  # the same input fails again
        rejected_at = bad_rows.write(batch.rejects, batch.kms_key_id)
        new_watermark = to_text(staged.max_cursor) if staged.max_cursor is not None else planned_watermark
        self.log.info("extracted %d rows from %s into %d part(s)%s", staged.rows, description, len(staged.files),
                      f"; {bad_rows.count} malformed row(s) rejected to {rejected_at}" if bad_rows.count else "")
        return {"rows": staged.rows, "files": staged.files, "source": description, "watermark": new_watermark,
                # the load state this read was planned on: the load re-checks it at commit
                "incremental": cursor is not None and not incremental.full_refresh,
                "planned_watermark": planned_watermark,
                "source_files": source_files, "rejected_rows": bad_rows.count,
                "rejected_reasons": bad_rows.reasons(), "rejects": rejected_at}

    def _source_tables(self, cursor: str | None, watermark: str | None, bad_rows: Any) -> tuple[Any, str, list[str]]:
        ctx = self.pipeline_ctx
        source = ctx.pipeline.source
        if isinstance(source, SqlSource):
            from tenantflow.hooks.sql_source import TenantSqlHook

            hook = TenantSqlHook(tenant_id=ctx.tenant_id, connection_id=source.connection_id)
            where = f"{source.connection_id}:{source.table or 'query'}"
            return hook.read(source, cursor=cursor, watermark=watermark), where, []
        if source.kind == "http":
            from tenantflow.hooks.http_source import HttpSourceHook

            tables = HttpSourceHook(tenant_id=ctx.tenant_id, connection_id=source.connection_id).read(source)
            if cursor is not None and watermark is not None:
                tables = after_watermark(tables, cursor, watermark)
            return tables, f"{source.connection_id}:{source.path}", []
        from tenantflow.hooks.files_source import FilesSourceHook

        hook = FilesSourceHook(tenant_id=ctx.tenant_id, connection_id=source.connection_id)
        pattern = ctx.source_location(source.path)
        files = hook.list(pattern)
        if ctx.pipeline.target.mode != "overwrite" and not source.reload_all:
            # append/merge: files committed by earlier runs are never read again
            from tenantflow.hooks.iceberg import IcebergHook

            loaded = IcebergHook(ctx).loaded_files(files)
            skipped = [f for f in files if f in loaded]
            files = [f for f in files if f not in loaded]
            self.log.info("%d new file(s) to load, %d already loaded", len(files), len(skipped))
        tables = hook.read(pattern, source, files, bad_rows)
        if cursor is not None and watermark is not None:
            tables = after_watermark(tables, cursor, watermark)
        return tables, pattern, files
