"""Usage read from the tenant's storage: landed batches (manifests) and Iceberg tables (snapshot summaries).

* landed: every raw batch's ``_manifest.json`` under ``<landing>/<pipeline>/run=*/`` (rows, files and
  the bytes of its parts), charged to the UTC day it was published (``landed_at``);
* loaded: each snapshot's summary (``added-records``, ``added-files-size``), charged to the day it was
  committed; snapshots already expired by table maintenance are gone and no longer counted;
* stored: ``total-files-size`` of each table's current snapshot (what is stored now).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tenantflow.landing.batch import MANIFEST, Manifest
from tenantflow.landing.storage import filesystem, in_object_store, join
from tenantflow.usage.period import Period

log = logging.getLogger(__name__)


@dataclass
class DataUsage:
    """What one tenant landed and loaded on one day."""

    batches_landed: int = 0
    rows_landed: int = 0
    files_landed: int = 0
    bytes_landed: int = 0
    commits: int = 0
    records_loaded: int = 0
    bytes_loaded: int = 0


def landed_usage(landing: str, period: Period) -> dict[date, DataUsage]:
    """Per UTC day of ``period``: batches, rows, files and bytes published under the ``landing`` root."""
    from pyarrow import fs as pafs

    fs, root = filesystem(landing)
    days: dict[date, DataUsage] = defaultdict(DataUsage)
    if fs.get_file_info(root).type != pafs.FileType.Directory and not in_object_store(landing):
        return {}
    pipelines = [i for i in fs.get_file_info(pafs.FileSelector(root, allow_not_found=True))
                 if i.type == pafs.FileType.Directory and not i.base_name.startswith("_")]
    read = 0
    for pipeline in pipelines:
        for run in fs.get_file_info(pafs.FileSelector(pipeline.path, allow_not_found=True)):
            if run.type != pafs.FileType.Directory or not run.base_name.startswith("run="):
                continue
            manifest_path = join(run.path, MANIFEST)
            info = fs.get_file_info(manifest_path)
            if info.type != pafs.FileType.File:
                continue  # not published (yet)
            with fs.open_input_stream(manifest_path) as stream:
                manifest = Manifest.from_json(stream.read().decode())
            read += 1
            moment = _landed_at(manifest, info)
            if not period.contains(moment):
                continue
            day = days[moment.date()]
            day.batches_landed += 1
            day.rows_landed += manifest.rows
            day.files_landed += len(manifest.files)
            day.bytes_landed += _batch_bytes(fs, run.path, manifest)
    log.debug("read %d manifest(s) under %s", read, landing)
    return dict(days)


def _landed_at(manifest: Manifest, info: Any) -> datetime:
    if manifest.landed_at:
        moment = datetime.fromisoformat(manifest.landed_at)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return info.mtime.astimezone(UTC)  # manifests written before landed_at: the manifest's write time


def _batch_bytes(fs: Any, folder: str, manifest: Manifest) -> int:
    if manifest.parts:
        return sum(int(part.get("bytes", 0)) for part in manifest.parts)
    infos = fs.get_file_info([join(folder, name.rsplit("/", 1)[-1]) for name in manifest.files])
    return sum(i.size or 0 for i in infos)


def table_usage(tables: list[Any], period: Period) -> tuple[dict[date, DataUsage], int]:
    """(per UTC day: commits, records and bytes added; bytes stored now) of these Iceberg tables."""
    days: dict[date, DataUsage] = defaultdict(DataUsage)
    stored = 0
    for table in tables:
        for snapshot in table.snapshots():
            moment = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC)
            if not period.contains(moment):
                continue
            summary = _summary(snapshot)
            day = days[moment.date()]
            day.commits += 1
            day.records_loaded += int(summary.get("added-records", 0))
            day.bytes_loaded += int(summary.get("added-files-size", 0))
        current = table.current_snapshot()
        if current is not None:
            stored += int(_summary(current).get("total-files-size", 0))
    return dict(days), stored


def _summary(snapshot: Any) -> dict[str, str]:
    return dict(snapshot.summary.additional_properties) if snapshot.summary else {}


def tenant_tables(catalog: Any, namespace: str) -> list[Any]:
    from pyiceberg.exceptions import NoSuchNamespaceError

    try:
        identifiers = sorted(catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        return []
    return [catalog.load_table(identifier) for identifier in identifiers]
