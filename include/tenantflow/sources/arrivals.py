"""The S3 objects a file-arrival run loads: those named by the S3 event notifications that triggered it.

The watcher's asset event carries the SQS messages it received (``extra.payload.message_batch``); each
message body is an S3 event notification (or an SNS envelope around one, for bucket -> SNS -> SQS). Only
``ObjectCreated:*`` records count; ``s3:TestEvent`` (sent when notifications are configured) and removals
are ignored. Keys arrive URL-encoded (``+`` for a space) and are decoded.

A notified object outside the pipeline's ``source.path`` is refused: never read, logged as an error and
counted — a notification of another bucket or prefix (a misconfigured bucket, or a forged message) cannot
make the pipeline read data it was not configured for. One inside the prefix that only misses the glob
(e.g. a ``_SUCCESS`` marker) is skipped. A key notified twice is read once; a key an earlier run committed
is skipped by the load state (``IcebergHook.loaded_files``), as for listed files.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from tenantflow.isolation.asset_events import TriggeringEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArrivedObjects:
    files: tuple[str, ...]  # s3:// URIs to read, in notification order, each once
    refused: tuple[str, ...] = ()  # outside source.path: never read
    skipped: tuple[str, ...] = ()  # inside the prefix, not matching the glob
    unreadable_messages: int = 0  # bodies that are not S3 event notifications
    notifications: int = field(default=0)


def notified_objects(events: Iterable[TriggeringEvent], arrival_asset_uri: str) -> Iterator[str | None]:
    """s3:// URI of each created object the arrival events' messages name (None for an unreadable body)."""
    for event in events:
        if event.asset_uri != arrival_asset_uri:
            continue
        payload = event.extra.get("payload") or {}
        for message in payload.get("message_batch") or ():
            yield from _objects_of(message.get("Body") if isinstance(message, dict) else None)


def _objects_of(body: Any) -> Iterator[str | None]:
    try:
        notification = json.loads(body) if isinstance(body, str) else None
    except json.JSONDecodeError:
        notification = None
    if isinstance(notification, dict) and notification.get("Type") == "Notification" and "Message" in notification:
        yield from _objects_of(notification["Message"])  # bucket -> SNS -> SQS
        return
    if not isinstance(notification, dict):
        yield None
        return
    if notification.get("Event") == "s3:TestEvent":
        return
    records = notification.get("Records")
    if not isinstance(records, list):
        yield None
        return
    for record in records:
        try:
            if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            yield f"s3://{s3['bucket']['name']}/{unquote_plus(s3['object']['key'])}"
        except (AttributeError, KeyError, TypeError):
            yield None


def source_prefix(pattern: str) -> str:
    """The fixed part of an s3:// glob up to its last '/' before the first wildcard: 's3://b/lab/'."""
    head = pattern
    for wildcard in "*?[":
        head = head.split(wildcard, 1)[0]
    return head.rsplit("/", 1)[0] + "/"


def arrived_objects(events: Iterable[TriggeringEvent], arrival_asset_uri: str, pattern: str) -> ArrivedObjects:
    """The objects of this run, checked against the pipeline's ``source.path`` (``pattern``)."""
    prefix = source_prefix(pattern)
    files: dict[str, None] = {}
    refused: dict[str, None] = {}
    skipped: dict[str, None] = {}
    unreadable = total = 0
    for uri in notified_objects(events, arrival_asset_uri):
        total += 1
        if uri is None:
            unreadable += 1
        elif not uri.startswith(prefix) or ".." in uri.removeprefix(prefix).split("/"):
            refused[uri] = None
        elif fnmatch.fnmatchcase(uri, pattern):
            files[uri] = None
        else:
            skipped[uri] = None
    for uri in refused:
        log.error("refused notified object %s: outside source.path %s (never read)", uri, pattern)
    if skipped:
        log.info("skipped %d notified object(s) not matching %s: %s", len(skipped), pattern, sorted(skipped)[:10])
    if unreadable:
        log.warning("%d message(s) on the arrival queue are not S3 event notifications (ignored)", unreadable)
    return ArrivedObjects(tuple(files), tuple(refused), tuple(skipped), unreadable, total)
