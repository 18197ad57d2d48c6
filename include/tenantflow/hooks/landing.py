"""Hook for the tenant's landing zone: stage extracted parts, publish a batch, read it back."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tenantflow.landing.batch import BatchLocation, Manifest, describe_schema, read_manifest, write_manifest
from tenantflow.landing.storage import filesystem, join, make_dirs, move, remove_dir
from tenantflow.landing.writer import StagedParts, write_parts

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

log = logging.getLogger(__name__)


# Derived batches a pipeline may publish after land, in pipeline order; load reads the last one present.
DERIVED_STAGES = ("approved", "transformed")


class LandingHook:
    def __init__(self, location: BatchLocation) -> None:
        self.location = location

    def derived(self, stage: str) -> LandingHook:
        """The hook of a derived batch of the same run (same layout: parts, then manifest last)."""
        return LandingHook(self.location.derived(stage))

    def exists(self) -> bool:
        return read_manifest(self.location) is not None

    def publish_derived(self, stage: str, tables: Iterable[pa.Table], *, source: str) -> Manifest:
        """Publish ``tables`` as a derived batch of this run (e.g. 'approved' rows of the quality gate).

        The derived manifest carries this batch's watermark and source files, so whichever batch is
        loaded commits the same state. Idempotent: a published derived batch is kept as is.
        """
        target = self.derived(stage)
        existing = read_manifest(target.location)
        if existing is not None:
            return existing
        raw = self.manifest()
        staged = target.stage(tables, cursor=None)
        return target.publish(files=staged.files, source=source, watermark=raw.watermark,
                              source_files=raw.source_files, incremental=raw.incremental,
                              planned_watermark=raw.planned_watermark)

    def load_input(self) -> LandingHook:
        """The batch the load stage writes: the last derived stage published for this run, else the raw batch."""
        for stage in reversed(DERIVED_STAGES):
            candidate = self.derived(stage)
            if candidate.exists():
                return candidate
        return self

    def stage(self, tables: Iterable[pa.Table], *, cursor: str | None) -> StagedParts:
        return write_parts(tables, self.location.staging, cursor=cursor, kms_key_id=self.location.kms_key_id)

    def publish(
        self, *, files: list[str], source: str, watermark: str | None, source_files: list[str] | None = None,
        rejected_rows: int = 0, incremental: bool = False, planned_watermark: str | None = None,
    ) -> Manifest:
        """Move staged parts into the batch folder, then write the manifest (idempotent)."""
        import pyarrow.parquet as pq

        existing = read_manifest(self.location)
        if existing is not None:
            log.info("batch %s already landed (%d rows)", self.location.final, existing.rows)
            return existing
        fs, final = filesystem(self.location.final)
        make_dirs(self.location.final)
        rows, schema = 0, None
        for name in files:
            move(join(self.location.staging, name), join(self.location.final, name), self.location.kms_key_id)
            metadata = pq.read_metadata(join(final, name), filesystem=fs)
            rows += metadata.num_rows
            schema = metadata.schema.to_arrow_schema() if schema is None else schema
        manifest = Manifest(
            run_id=self.location.run_id, pipeline_id=self.location.pipeline_id, rows=rows, files=files,
            source=source, watermark=watermark, schema=describe_schema(schema) if schema else [],
            source_files=list(source_files or []), rejected_rows=rejected_rows,
            incremental=incremental, planned_watermark=planned_watermark,
            landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        write_manifest(self.location, manifest)
        remove_dir(self.location.staging)
        log.info("landed %d rows in %d file(s) at %s", rows, len(files), self.location.final)
        return manifest

    def manifest(self) -> Manifest:
        manifest = read_manifest(self.location)
        if manifest is None:
            raise FileNotFoundError(
                f"no complete batch at {self.location.final} (missing _manifest.json); re-run the land task"
            )
        return manifest

    def parts(self) -> tuple[list[str], list[pa.Schema]]:
        """Locations of the landed Parquet parts and their schemas (read from the footers only)."""
        import pyarrow.parquet as pq

        manifest = self.manifest()
        fs, final = filesystem(self.location.final)
        paths = [join(final, name) for name in manifest.files]
        schemas = [pq.read_schema(path, filesystem=fs) for path in paths]
        prefix = "s3://" if self.location.final.startswith("s3://") else ""
        return [prefix + p for p in paths], schemas

    def sample(self, rows: int) -> pa.Table:
        """Up to ``rows`` rows spread over the batch's parts (the first rows of each part)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        manifest = self.manifest()
        if not manifest.files:
            return pa.table({})
        fs, final = filesystem(self.location.final)
        per_part = max(1, rows // len(manifest.files))
        tables = []
        for name in manifest.files:
            with fs.open_input_file(join(final, name)) as handle:
                batches = pq.ParquetFile(handle).iter_batches(batch_size=per_part)
                tables.append(pa.Table.from_batches([next(batches)]))
        return pa.concat_tables(tables, promote_options="permissive")

    def read(self) -> pa.Table:
        """The landed batch as one Arrow table (schemas of the parts unified)."""
        import pyarrow as pa

        dataset = self.dataset()
        return pa.table({}) if dataset is None else dataset.to_table()

    def dataset(self) -> ds.Dataset | None:
        """The landed parts as one pyarrow Dataset (schemas unified, nothing read yet); None if empty."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        manifest = self.manifest()
        if not manifest.files:
            return None
        fs, final = filesystem(self.location.final)
        paths = [join(final, name) for name in manifest.files]
        schemas = [ds.dataset(p, filesystem=fs, format="parquet").schema for p in paths]
        schema = pa.unify_schemas(schemas, promote_options="permissive")
        return ds.dataset(paths, schema=schema, filesystem=fs, format="parquet")
