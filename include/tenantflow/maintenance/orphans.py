"""Orphan removal: files under a table's location that nothing in the table references.

A load killed after writing its data files but before committing leaves them behind (6 after 10
kills), as does a compaction or metadata write that lost a race uncleanly. The files kept are every
file a live snapshot references (manifest lists, manifests, data and delete files), the current
metadata file and those in its metadata log, statistics and partition-statistics files, and the
load-state files (``tenantflow.loading.state.state_files``). Of the rest only those modified before
``older_than`` are deleted: a running load has written files it has not committed yet.

Paths are compared without their scheme (``file:``, ``s3:``/``s3a:``), as the filesystem lists them.
If none of the table's referenced files under its location is found in the listing, the location and
the references disagree (another mount, another scheme): nothing is deleted and an error is raised.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tenantflow.loading import state
from tenantflow.maintenance.expiry import as_utc
from tenantflow.quality.housekeeping import referenced_files

if TYPE_CHECKING:
    from pyarrow import fs as pafs
    from pyiceberg.table import Table

log = logging.getLogger(__name__)
_KEEP_NAMES = {"version-hint.text"}  # a Hadoop catalog's pointer to the current metadata file


@dataclass(frozen=True)
class OrphanResult:
    files_listed: int
    files_referenced: int
    files_too_young: int
    files_deleted: int
    bytes_freed: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def plain_path(uri: str) -> str:
    """``file:///a/b`` -> ``/a/b``; ``s3://bucket/key`` (or s3a, s3n) -> ``bucket/key``: as pyarrow.fs lists them."""
    for prefix in ("s3://", "s3a://", "s3n://"):
        if uri.startswith(prefix):
            return uri.removeprefix(prefix)
    if uri.startswith("file:"):
        uri = "/" + uri.removeprefix("file:").lstrip("/")
    return os.path.normpath(uri)


def live_files(table: Table) -> set[str]:
    """Plain paths of every file the table needs (see the module docstring)."""
    metadata = table.metadata
    uris = set(referenced_files(table))
    uris.add(table.metadata_location)
    uris.update(entry.metadata_file for entry in metadata.metadata_log)
    uris.update(s.statistics_path for s in metadata.statistics)
    uris.update(s.statistics_path for s in metadata.partition_statistics)
    uris.update(state.state_files(table))
    return {plain_path(uri) for uri in uris}


def table_filesystem(table: Table, location: str | None = None) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of the table's location (or another location of the table, e.g. its load-state
    folder; S3 options from the table's FileIO) and the root in it."""
    from tenantflow.landing.storage import filesystem

    location = (location or table.location()).rstrip("/")
    if not location.startswith(("s3://", "s3a://", "s3n://")):
        return filesystem(plain_path(location))
    props = table.io.properties
    options: dict[str, Any] = {}
    if endpoint := props.get("s3.endpoint"):
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    for prop, option in (("s3.region", "region"), ("s3.access-key-id", "access_key"),
                         ("s3.secret-access-key", "secret_key"), ("s3.session-token", "session_token")):
        if props.get(prop):
            options[option] = props[prop]
    return filesystem("s3://" + plain_path(location), options)


def remove_orphan_files(table: Table, *, older_than: datetime) -> OrphanResult:
    """Delete the files under the table's location and its load-state folder that the table does not reference
    and that were last modified before ``older_than``."""
    from tenantflow.loading.state_store import state_location

    table.refresh()  # references as the catalog has them now, including commits since this object was loaded
    keep = live_files(table)
    cutoff_ns = int(as_utc(older_than).timestamp() * 1_000_000_000)
    data = _remove_unreferenced(table, table_filesystem(table), keep, cutoff_ns, expect_references=True)
    states = _remove_unreferenced(table, table_filesystem(table, state_location(table)), keep, cutoff_ns,
                                  expect_references=False)  # heads and segments of lost or killed commits
    result = OrphanResult(*(a + b for a, b in zip(data, states, strict=True)))
    log.info("%s: %d file(s) listed, %d referenced, %d unreferenced but younger than %s (kept), %d orphan(s) "
             "deleted, %d bytes freed", _name(table), result.files_listed, result.files_referenced,
             result.files_too_young, as_utc(older_than).isoformat(), result.files_deleted, result.bytes_freed)
    return result


def _remove_unreferenced(
    table: Table, fs_root: tuple[pafs.FileSystem, str], keep: set[str], cutoff_ns: int, *, expect_references: bool
) -> tuple[int, int, int, int, int]:
    from pyarrow import fs as pafs

    fs, root = fs_root
    listed = [info for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
              if info.type == pafs.FileType.File]
    referenced = [info for info in listed if os.path.normpath(info.path) in keep
                  or os.path.basename(info.path) in _KEEP_NAMES]
    expected_here = {path for path in keep if path.startswith(os.path.normpath(root) + "/")}
    if expect_references and expected_here and not referenced:
        raise RuntimeError(f"{_name(table)}: none of the {len(expected_here)} file(s) the table references under "
                           f"{root} was found there; refusing to remove orphans (location mismatch?)")
    referenced_paths = {info.path for info in referenced}
    candidates = [info for info in listed if info.path not in referenced_paths]
    young = [info for info in candidates if info.mtime_ns is None or info.mtime_ns >= cutoff_ns]
    old = [info for info in candidates if info.mtime_ns is not None and info.mtime_ns < cutoff_ns]
    deleted = freed = 0
    for info in old:
        try:
            fs.delete_file(info.path)
        except FileNotFoundError:
            continue
        deleted += 1
        freed += info.size or 0
        log.info("%s: deleted orphan %s (%d bytes)", _name(table), info.path, info.size or 0)
    return len(listed), len(referenced), len(young), deleted, freed


def _name(table: Table) -> str:
    return ".".join(table.name())
