"""Landing retention: delete a pipeline's raw batches, rejects and stale staging older than their maximum age.

Age is the last-modified time of a folder's newest object (S3 LastModified / file mtime), so a
batch is kept for its maximum age after it was last written. Raw batches and stale staging expire
after the raw-batch age, rejects after theirs (they may differ: see ``config/retention.py``); a
kind without an age is kept. The batch of the current run is never touched.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tenantflow.landing.batch import BatchLocation, run_key
from tenantflow.landing.storage import filesystem, join, remove_dir

log = logging.getLogger(__name__)

REJECTS_DIR = "_rejects"
STAGING_DIR = "_staging"


def expire_batches(
    location: BatchLocation,
    *,
    raw_batches: timedelta | None,
    rejects: timedelta | None,
    now: datetime | None = None,
) -> list[str]:
    """Delete the run folders of ``location``'s pipeline older than their kind's age; returns what was deleted."""
    from pyarrow import fs as pafs

    now = now or datetime.now(UTC)
    cutoffs = {None: raw_batches, STAGING_DIR: raw_batches, REJECTS_DIR: rejects}
    if all(age is None for age in cutoffs.values()):
        return []
    pipeline_root = join(location.landing, location.pipeline_id)
    fs, root = filesystem(pipeline_root)
    current = run_key(location.run_id)
    newest: dict[str, datetime] = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type != pafs.FileType.File or info.mtime is None:
            continue
        relative = info.path[len(root):].strip("/").split("/")
        # <run-key>/…  or  _rejects/<run-key>/…  or  _staging/<run-key>/…
        folder = "/".join(relative[:2]) if relative[0] in (REJECTS_DIR, STAGING_DIR) else relative[0]
        if folder.rsplit("/", 1)[-1] == current or not folder.rsplit("/", 1)[-1].startswith("run="):
            continue
        mtime = info.mtime if info.mtime.tzinfo else info.mtime.replace(tzinfo=UTC)
        newest[folder] = max(newest.get(folder, mtime), mtime)
    expired = []
    for folder, mtime in sorted(newest.items()):
        age = cutoffs[folder.split("/", 1)[0] if "/" in folder else None]
        if age is not None and mtime < now - age:
            expired.append(folder)
    for folder in expired:
        remove_dir(join(pipeline_root, folder))
    if expired:
        log.info("retention (raw batches %s, rejects %s): deleted %d landing folder(s) of %s",
                 raw_batches, rejects, len(expired), location.pipeline_id)
    return [join(pipeline_root, folder) for folder in expired]
