"""Files of the load state (format ``tenantflow.load-state``, version 1).

A state is a small JSON *head* plus immutable JSON *segments*, under the table's state folder
``<table location's parent>/_tenantflow_state/<table>-<table uuid>/`` (beside, not inside, the
table location, so another engine's orphan-file removal never sees them)::

    head-<uuid>.json   {"format": "tenantflow.load-state", "version": 1, "pipeline": …,
                        "watermark": …, "runs": N, "files": M, "buckets": B,
                        "stream": {…} (queue/CDC sources only: the position committed with the data),
                        "segments": [segment id|null × B],
                        "last_run": {"run_id", "rows", "committed_at"}, "base_snapshot_id": …,
                        "sequence_number": …, "committed_at_ms": …}
    seg-<id>.txt       {"format": "tenantflow.load-state-segment", "version": 1}   (one JSON header line)
                       then the bucket's keys, sorted, one per line (a key holding a newline, or
                       starting with '"', is written as a JSON string)

Run ids (keys ``r:<run id>``) and source files (``f:<uri>``) are spread over B hash buckets; a
commit rewrites only the buckets its keys fall into and references the others as they are, and a
lookup reads only the buckets of the keys it asks about. B doubles when a bucket would exceed
``MAX_BUCKET_ENTRIES``, so per-commit and
per-lookup work stays flat however many runs accumulate.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pyiceberg.table import Table

FORMAT = "tenantflow.load-state"
SEGMENT_FORMAT = "tenantflow.load-state-segment"
VERSION = 1
MIN_BUCKETS = 16
MAX_BUCKET_ENTRIES = 256
RUN_KEY, FILE_KEY = "r:", "f:"  # run ids and source files share the hash buckets


class PriorState(Protocol):
    """What writing the next state needs of the previous one (``state.LoadState`` is the one reader)."""

    buckets: int
    segments: tuple[str | None, ...]
    run_count: int
    file_count: int
    legacy_runs: frozenset[str]
    legacy_files: frozenset[str]

    def has_run(self, run_id: str) -> bool: ...
    def loaded(self, files: Iterable[str]) -> set[str]: ...
    def segment_keys(self, name: str) -> list[str]: ...
    def all_run_ids(self) -> set[str]: ...
    def all_files(self) -> set[str]: ...


class StateFormatError(ValueError):
    """A state file that is not a tenantflow load state of a version this code reads."""


def bucket_of(key: str, buckets: int) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % buckets


def state_location(table: Table) -> str:
    location = table.location().rstrip("/")
    parent, _, name = location.rpartition("/")
    return f"{parent}/_tenantflow_state/{name}-{str(table.metadata.table_uuid)[:8]}"


def _folder(head_uri: str) -> str:
    return head_uri.rpartition("/")[0]


def _read_json(io: Any, uri: str, expected: str) -> dict[str, Any]:
    with io.new_input(uri).open() as stream:
        return _check(json.loads(stream.read()), uri, expected)


def _check(document: dict[str, Any], uri: str, expected: str) -> dict[str, Any]:
    if document.get("format") != expected or document.get("version") != VERSION:
        raise StateFormatError(
            f"{uri}: not a {expected} file of version {VERSION} (format {document.get('format')!r}, "
            f"version {document.get('version')!r}); was it written by a newer tenantflow?"
        )
    return document


def _write_json(io: Any, uri: str, document: dict[str, Any]) -> None:
    with io.new_output(uri).create(overwrite=True) as stream:
        stream.write(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())


def read_head(io: Any, uri: str) -> dict[str, Any]:
    return _read_json(io, uri, FORMAT)


def segment_uri(head_uri: str, segment: str) -> str:
    return f"{_folder(head_uri)}/seg-{segment}.txt"


def read_segment_body(io: Any, head_uri: str, segment: str) -> str:
    """The bucket's lines, between newlines (a lookup is then one substring search, no parsing)."""
    uri = segment_uri(head_uri, segment)
    with io.new_input(uri).open() as stream:
        header, _, body = stream.read().decode().partition("\n")
    _check(json.loads(header), uri, SEGMENT_FORMAT)
    return f"\n{body}\n"


def key_line(key: str) -> str:
    """A key as stored on its own line: JSON-quoted when a newline or a leading quote would make it ambiguous."""
    return json.dumps(key) if "\n" in key or key.startswith('"') else key


def body_keys(body: str) -> list[str]:
    return [json.loads(line) if line.startswith('"') else line for line in body.strip("\n").split("\n") if line]


def _segment_bytes(keys: set[str]) -> bytes:
    header = json.dumps({"format": SEGMENT_FORMAT, "version": VERSION}, sort_keys=True)
    return "\n".join([header, *sorted(map(key_line, keys))]).encode()


def _grouped(keys: Iterable[str], buckets: int) -> dict[int, set[str]]:
    grouped: dict[int, set[str]] = {}
    for key in keys:
        grouped.setdefault(bucket_of(key, buckets), set()).add(key)
    return grouped


def _updated_segments(previous: PriorState, old: tuple[str | None, ...], added: set[str]) -> dict[int, set[str]] | None:
    """The new contents of the buckets ``added`` falls into; None when one would overflow (time to resize)."""
    updated = {}
    for index, keys in _grouped(added, len(old)).items():
        keys = keys.union(previous.segment_keys(old[index]) if old[index] else ())
        if len(keys) > MAX_BUCKET_ENTRIES:
            return None
        updated[index] = keys
    return updated


def _resized(all_keys: list[set[str]], buckets: int) -> tuple[int, list[dict[int, set[str]]]]:
    """The smallest power-of-two bucket count (from ``buckets``) under which no bucket overflows."""
    while True:
        grouped = [_grouped(keys, buckets) for keys in all_keys]
        if all(len(keys) <= MAX_BUCKET_ENTRIES for group in grouped for keys in group.values()):
            return buckets, grouped
        buckets *= 2


def _write_segments(io: Any, folder: str, old: tuple[str | None, ...], updated: dict[int, set[str]],
                    buckets: int) -> tuple[str | None, ...]:
    segments: list[str | None] = list(old) if len(old) == buckets else [None] * buckets
    for index, keys in updated.items():
        name = uuid.uuid4().hex[:20]
        with io.new_output(f"{folder}/seg-{name}.txt").create(overwrite=True) as stream:
            stream.write(_segment_bytes(keys))
        segments[index] = name
    return tuple(segments)


def write_next_state(
    table: Table, previous: PriorState, *, pipeline_id: str, run_id: str, rows: int, watermark: str | None,
    source_files: Iterable[str], stream: Mapping[str, Any] | None = None,
) -> str:
    """Write the state after this run (previous + run id + files, new watermark); returns the head's URI.

    Nothing references the files until the commit that names the head succeeds; a lost commit leaves
    them unreferenced (removed by the maintenance DAG's orphan step).
    """
    source_files = set(source_files)
    new_runs = set() if previous.has_run(run_id) else {run_id}
    new_files = source_files - previous.loaded(source_files)
    buckets = previous.buckets
    added = {RUN_KEY + r for r in new_runs} | {FILE_KEY + f for f in new_files}
    updated = None
    if buckets and not (previous.legacy_runs or previous.legacy_files):
        updated = _updated_segments(previous, previous.segments, added)
    if updated is None:  # first state, legacy state or an overflow: lay out anew
        everything = ({RUN_KEY + r for r in previous.all_run_ids()} | {FILE_KEY + f for f in previous.all_files()}
                      | added)
        buckets, (updated,) = _resized([everything], max(buckets * 2, MIN_BUCKETS))
        run_total = sum(key.startswith(RUN_KEY) for key in everything)
        file_total = len(everything) - run_total
    else:
        run_total, file_total = previous.run_count + len(new_runs), previous.file_count + len(new_files)
    folder = state_location(table)
    head_uri = f"{folder}/head-{uuid.uuid4().hex}.json"
    _write_json(table.io, head_uri, {
        "format": FORMAT, "version": VERSION, "pipeline": pipeline_id, "watermark": watermark,
        "runs": run_total, "files": file_total, "buckets": buckets,
        **({"stream": dict(stream)} if stream is not None else {}),
        "segments": list(_write_segments(table.io, folder, previous.segments, updated, buckets)),
        "last_run": {"run_id": run_id, "rows": rows, "committed_at": datetime.now(UTC).isoformat(timespec="seconds")},
        # which commit this is: the ancestry check after an expiry compares them with the oldest snapshot kept
        "base_snapshot_id": table.metadata.current_snapshot_id,
        "sequence_number": table.metadata.next_sequence_number(), "committed_at_ms": int(time.time() * 1000),
    })
    return head_uri


def referenced_files(io: Any, heads: set[str]) -> set[str]:
    """The given heads and every segment they reference."""
    files = set(heads)
    for head in heads:
        try:
            document = _read_json(io, head, FORMAT)
        except (FileNotFoundError, OSError, StateFormatError):
            continue
        files.update(segment_uri(head, name) for name in document["segments"] if name)
    return files
