"""The landing store: the hook over one run's batch in the tenant's landing zone.

Stage extracted parts, publish them as a batch (manifest last), publish derived batches, verify and
read a batch back. Storage access (local or S3, through the landing store's AWS hook) is
``landing.storage``; the batch layout and manifest are ``landing.batch``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tenantflow.landing.batch import BatchLocation, Manifest, describe_schema, read_manifest, write_manifest
from tenantflow.landing.integrity import (
    STAGED_PARTS,
    DamagedBatch,
    file_size,
    read_staged_parts,
    sha256_of,
    verify_batch,
)
from tenantflow.landing.storage import filesystem, join, make_dirs, move, remove_dir, remove_file, uri_in
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
        loaded commits the same state. Idempotent: a published derived batch that verifies is kept as
        is; a damaged one is replaced. Nothing is derived from a damaged batch (DamagedBatch).
        """
        return self.publish_derived_by(stage, lambda target: target.stage(tables, cursor=None).files, source=source)

    def publish_derived_by(self, stage: str, write: Callable[[LandingHook], list[str]], *, source: str) -> Manifest:
        """Publish a derived batch whose parts ``write`` puts in the target's staging folder (returning their
        names), e.g. Spark's distributed writer; the same contract as ``publish_derived``."""
        target = self.derived(stage)
        if target.exists():
            damage = target.damage()
            if damage is None:
                return target.manifest()
            log.warning("derived batch %s is damaged, publishing it again: %s", target.location.final, damage)
            remove_dir(target.location.final)
        raw = self.verify()
        files = write(target)
        return target.publish(files=files, source=source, watermark=raw.watermark,
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
        """Move staged parts into the batch folder, then write the manifest (idempotent).

        A batch already published is kept if it verifies; a damaged one (and the batches derived from
        it) is removed and the freshly staged parts are published in its place.
        """
        existing = read_manifest(self.location)
        if existing is not None:
            damage = self.damage()
            if damage is None:
                log.info("batch %s already landed (%d rows)", self.location.final, existing.rows)
                return existing
            self._replace_damaged(damage, files)
        make_dirs(self.location.final)
        staged = read_staged_parts(self.location.staging)
        records, schema = [], None
        for name in files:
            move(join(self.location.staging, name), join(self.location.final, name), self.location.kms_key_id)
            record, part_schema = self._published_part(name, staged.get(name))
            records.append(record)
            schema = part_schema if schema is None else schema
        rows = sum(r["rows"] for r in records)
        manifest = Manifest(
            run_id=self.location.run_id, pipeline_id=self.location.pipeline_id, rows=rows, files=files,
            source=source, watermark=watermark, schema=describe_schema(schema) if schema else [],
            source_files=list(source_files or []), rejected_rows=rejected_rows,
            incremental=incremental, planned_watermark=planned_watermark,
            landed_at=datetime.now(UTC).isoformat(timespec="seconds"), parts=records,
        )
        write_manifest(self.location, manifest)
        remove_file(join(self.location.staging, STAGED_PARTS))
        remove_dir(self.location.staging)
        log.info("landed %d rows in %d file(s) at %s", rows, len(files), self.location.final)
        return manifest

    def _replace_damaged(self, damage: DamagedBatch, files: list[str]) -> None:
        """Remove a damaged published batch (with its derived stages) if fresh parts are staged to replace it."""
        fs, staging = filesystem(self.location.staging)
        missing = [name for name in files if file_size(fs, join(staging, name)) is None]
        if missing:
            raise DamagedBatch(self.location, f"{damage.detail}; no freshly staged parts replace it (missing in "
                                              f"{self.location.staging}: {', '.join(missing)})", damage.part)
        log.warning("batch %s is damaged (%s): removing it and its derived batches, publishing the %d freshly "
                    "staged part(s) instead", self.location.final, damage.detail, len(files))
        remove_dir(self.location.final)

    def _published_part(self, name: str, staged: dict | None) -> tuple[dict, pa.Schema]:
        """The manifest record of a part just moved into the batch folder, checked against the writer's record."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        fs, path = filesystem(join(self.location.final, name))
        size = file_size(fs, path)
        try:
            metadata = pq.read_metadata(path, filesystem=fs)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DamagedBatch(self.location, f"the staged file is not a readable Parquet file ({exc})", name) from None
        rows, schema = metadata.num_rows, metadata.schema.to_arrow_schema()
        if staged is None:  # staged without records (an older writer): hash the published file once
            log.info("part %s has no staging record: hashing the published file", name)
            return {"name": name, "rows": rows, "bytes": size, "sha256": sha256_of(fs, path)}, schema
        if (rows, size) != (staged["rows"], staged["bytes"]):
            raise DamagedBatch(self.location, f"the extract wrote {staged['rows']} rows in {staged['bytes']} "
                                              f"bytes, the staged file has {rows} rows in {size} bytes", name)
        return dict(staged), schema

    def verify(self) -> Manifest:
        """The batch's manifest once every part matches it (exists, rows, size, SHA-256); else DamagedBatch."""
        manifest = self.manifest()
        verify_batch(self.location, manifest)
        return manifest

    def damage(self) -> DamagedBatch | None:
        """Why the published batch does not match its manifest, or None if it verifies."""
        try:
            self.verify()
        except DamagedBatch as exc:
            return exc
        return None

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
        return [uri_in(self.location.final, p) for p in paths], schemas

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
