"""Integrity of a landed batch: every part is the file that was landed, before anything is committed.

The writer hashes each part while it serializes it and records ``{"name", "rows", "bytes",
"sha256"}`` next to the staged parts (``_parts.json``); publish copies those records into the
manifest. ``verify_batch`` checks, per part: the object exists, its Parquet footer has the rows the
manifest says, its size and SHA-256 match; and the parts add up to the manifest's rows. Manifests
written before per-part records existed are checked by footer row counts only.

A damaged batch cannot be repaired by retrying the load: ``DamagedBatch`` says which run and part,
what the manifest says and what the file has, and how to land the run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from tenantflow.landing.storage import filesystem, join, write_bytes

if TYPE_CHECKING:
    from pyarrow import fs as pafs

    from tenantflow.landing.batch import BatchLocation, Manifest

log = logging.getLogger(__name__)

STAGED_PARTS = "_parts.json"  # per-part records of a staging folder, written by the writer
_CHUNK = 8 * 1024 * 1024
_LOGICAL_DATE = re.compile(r"__(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)")


class DamagedBatch(ValueError):
    """A landed batch does not match its manifest: loading it would lose or corrupt rows."""

    def __init__(self, location: BatchLocation, detail: str, part: str | None = None) -> None:
        self.run_id, self.part, self.detail = location.run_id, part, detail
        batch = f" {location.stage} batch" if location.stage else ""
        where = f" part {part}" if part else ""
        super().__init__(f"run {location.run_id!r}{batch}{where}: {detail}. {recovery_hint(location)}")


def recovery_hint(location: BatchLocation) -> str:
    """How to land the run again: clear its extract and land tasks (and the tasks after them)."""
    match = _LOGICAL_DATE.search(location.run_id)
    date = match.group(1) if match else "<logical date of the run>"
    dag_id = location.dag_id or "<dag_id>"
    return (f"The batch at {location.final} cannot be used as it is; land the run again: clear its extract and "
            f"land tasks and the tasks after them, e.g. `airflow tasks clear {dag_id} -t '^(extract|land)\\.' -d "
            f"-s {date} -e {date} -y`; land then replaces the damaged batch with freshly extracted parts")


def part_record(name: str, data: Any, rows: int) -> dict[str, Any]:
    """The manifest's record of one part from its serialized bytes (any buffer-protocol object)."""
    view = memoryview(data)
    return {"name": name, "rows": rows, "bytes": view.nbytes, "sha256": hashlib.sha256(view).hexdigest()}


def write_staged_parts(staging: str, records: list[dict[str, Any]], kms_key_id: str | None) -> None:
    write_bytes(join(staging, STAGED_PARTS), json.dumps({"parts": records}, indent=2).encode(), kms_key_id)


def read_staged_parts(staging: str) -> dict[str, dict[str, Any]]:
    """The writer's records of the staged parts by name; empty if the staging folder has none."""
    from pyarrow import fs as pafs

    fs, path = filesystem(join(staging, STAGED_PARTS))
    if fs.get_file_info(path).type != pafs.FileType.File:
        return {}
    with fs.open_input_stream(path) as stream:
        return {r["name"]: r for r in json.loads(stream.read().decode())["parts"]}


def sha256_of(fs: pafs.FileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def footer_rows(fs: pafs.FileSystem, path: str) -> int:
    """Row count from the Parquet footer; ValueError naming the problem if the file is not Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path, filesystem=fs).num_rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"not a readable Parquet file ({exc})") from None


def file_size(fs: pafs.FileSystem, path: str) -> int | None:
    """Size in bytes, or None if there is no such file/object."""
    from pyarrow import fs as pafs

    info = fs.get_file_info(path)
    return info.size if info.type == pafs.FileType.File else None


def check_part(location: BatchLocation, record: dict[str, Any], fs: pafs.FileSystem, path: str) -> int:
    """Check one part against its manifest record; its footer row count, or DamagedBatch."""
    name, size = record["name"], file_size(fs, path)
    if size is None:
        raise DamagedBatch(location, f"the file is missing (the manifest lists it with {record['rows']} rows)",
                           name)
    try:
        rows = footer_rows(fs, path)
    except ValueError as exc:
        raise DamagedBatch(location, f"{exc}; the manifest says {record['bytes']} bytes, the file has {size}",
                           name) from None
    if rows != record["rows"]:
        raise DamagedBatch(location, f"the manifest says {record['rows']} rows, the file has {rows}", name)
    if size != record["bytes"]:
        raise DamagedBatch(location, f"the manifest says {record['bytes']} bytes, the file has {size}", name)
    checksum = sha256_of(fs, path)
    if checksum != record["sha256"]:
        raise DamagedBatch(location, f"the manifest says sha256 {record['sha256']}, the file has {checksum}", name)
    return rows


def check_legacy_part(location: BatchLocation, name: str, fs: pafs.FileSystem, path: str) -> int:
    """A part of a manifest without per-part records: it exists and its footer is readable."""
    if file_size(fs, path) is None:
        raise DamagedBatch(location, "the file is missing (the manifest lists it)", name)
    try:
        return footer_rows(fs, path)
    except ValueError as exc:
        raise DamagedBatch(location, str(exc), name) from None


def verify_batch(location: BatchLocation, manifest: Manifest) -> None:
    """Raise DamagedBatch unless every part matches the manifest and the parts add up to its rows."""
    fs, final = filesystem(location.final)
    if manifest.parts and [p["name"] for p in manifest.parts] != list(manifest.files):
        raise DamagedBatch(location, f"the manifest lists files {manifest.files} but part records for "
                                     f"{[p['name'] for p in manifest.parts]}")
    counts = {}
    for index, name in enumerate(manifest.files):
        path = join(final, name)
        if manifest.parts:
            counts[name] = check_part(location, manifest.parts[index], fs, path)
        else:
            counts[name] = check_legacy_part(location, name, fs, path)
    total = sum(counts.values())
    if total != manifest.rows:
        per_part = ", ".join(f"{name}: {rows}" for name, rows in counts.items())
        raise DamagedBatch(location, f"the manifest says {manifest.rows} rows, its parts have {total} ({per_part})")
    log.info("batch %s verified: %d part(s), %d rows%s", location.final, len(counts), total,
             "" if manifest.parts else " (footer row counts only: the manifest has no part checksums)")
