"""A landed batch: raw Parquet parts of one pipeline run plus a manifest written last.

Layout under the tenant's landing location::

    <landing>/<pipeline>/_staging/<run-key>/part-00000.parquet   written by extract
    <landing>/<pipeline>/<run-key>/part-00000.parquet            published by land
    <landing>/<pipeline>/<run-key>/_manifest.json                written last: the batch is complete

The manifest records each part's row count, size and SHA-256 (``parts``), so the load stage can
prove the batch is the one that was landed before it commits anything (``landing.integrity``).

Later stages may publish derived batches of the same run with the same layout and contract,
e.g. the rows approved by the quality gate or the output of a transform::

    <landing>/<pipeline>/<run-key>/_stages/<stage>/part-00000.parquet + _manifest.json

A batch without a manifest is incomplete and is never read downstream.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tenantflow.landing.storage import filesystem, join, write_bytes

MANIFEST = "_manifest.json"


def run_key(run_id: str) -> str:
    """A path-safe, collision-free folder name for an Airflow run id."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_")[:80]
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"run={safe}-{digest}"


@dataclass(frozen=True)
class BatchLocation:
    landing: str
    pipeline_id: str
    run_id: str
    stage: str | None = None  # None: the raw batch landed by extract/land
    kms_key_id: str | None = None  # SSE-KMS key for every object written here (s3 landing)
    dag_id: str | None = None  # the DAG that lands this batch: named in recovery hints

    def derived(self, stage: str) -> BatchLocation:
        """The location of a derived batch of the same run (e.g. 'approved', 'transformed')."""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", stage):
            raise ValueError(f"stage name {stage!r} must be a lower-case identifier")
        return BatchLocation(self.landing, self.pipeline_id, self.run_id, stage, self.kms_key_id, self.dag_id)

    @property
    def staging(self) -> str:
        base = join(self.landing, self.pipeline_id, "_staging", run_key(self.run_id))
        return base if self.stage is None else join(base, "_stages", self.stage)

    @property
    def final(self) -> str:
        base = join(self.landing, self.pipeline_id, run_key(self.run_id))
        return base if self.stage is None else join(base, "_stages", self.stage)

    @property
    def rejects(self) -> str:
        """Where malformed source rows of this run go (``on_bad_rows: reject``)."""
        return join(self.landing, self.pipeline_id, "_rejects", run_key(self.run_id))

    @property
    def manifest(self) -> str:
        return join(self.final, MANIFEST)


@dataclass(frozen=True)
class Manifest:
    run_id: str
    pipeline_id: str
    rows: int
    files: list[str]
    source: str
    watermark: str | None = None
    schema: list[dict[str, str]] = field(default_factory=list)
    source_files: list[str] = field(default_factory=list)
    rejected_rows: int = 0
    landed_at: str | None = None  # ISO timestamp (UTC) of publishing
    # the load state the extract planned on (re-checked at commit): rows after `planned_watermark`
    incremental: bool = False
    planned_watermark: str | None = None
    # per part, in the order of ``files``: {"name", "rows", "bytes", "sha256"}; empty in manifests
    # written before integrity checks (those are checked by footer row counts only)
    parts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))


def read_manifest(location: BatchLocation) -> Manifest | None:
    from pyarrow import fs as pafs

    fs, path = filesystem(location.manifest)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as stream:
        return Manifest.from_json(stream.read().decode())


def write_manifest(location: BatchLocation, manifest: Manifest) -> None:
    write_bytes(location.manifest, manifest.to_json().encode(), location.kms_key_id)


def describe_schema(schema: Any) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]
