"""The dedup window of queue sources: the message ids of the last committed micro-batches, in the stream position.

RabbitMQ and SQS redeliver a message that was not acknowledged/deleted: after a crash between the Iceberg
commit and the acknowledgement, the batch just committed comes back. The position committed *with* each
micro-batch keeps the ids of the last ``WINDOW_BATCHES`` micro-batches (an 8-byte BLAKE2b digest each,
base64 per batch, so 8 x 10,000 ids stay ~0.9 MB), and the reader drops a redelivered message whose id is
in it. Bounded: a message redelivered after more than ``WINDOW_BATCHES`` later micro-batches committed is
loaded again (that takes a consumer that crashed, and others that went on meanwhile).

Position: ``{"broker": …, "queue": …, "batches": [base64, …] (oldest first), "messages": N committed}``.
Kinesis needs no window: its position is the last sequence number per shard (``queue_kinesis``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

WINDOW_BATCHES = 8
KEY_BYTES = 8


def message_key(message_id: str) -> bytes:
    return hashlib.blake2b(message_id.encode(), digest_size=KEY_BYTES).digest()


def body_id(body: bytes) -> str:
    """The id of a message published without one (RabbitMQ ``message_id`` unset): its payload's digest."""
    return "sha256:" + hashlib.sha256(body).hexdigest()[:32]


class DedupWindow:
    """The ids the committed position holds; ``after`` makes the position that adds a micro-batch's ids."""

    def __init__(self, position: Mapping[str, Any] | None) -> None:
        self.position: dict[str, Any] = dict(position or {})
        self.keys: set[bytes] = set()
        for encoded in self.position.get("batches", ()):
            raw = base64.b64decode(encoded)
            self.keys.update(raw[i:i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES))

    def committed(self, key: bytes) -> bool:
        return key in self.keys

    @staticmethod
    def after(current: Mapping[str, Any] | None, keys: Iterable[bytes], **identity: Any) -> dict[str, Any]:
        """The position after a micro-batch with ``keys``, on top of the one committed now (``current``)."""
        keys = list(keys)
        current = current or {}
        batches = [*list(current.get("batches", ()))[-(WINDOW_BATCHES - 1):], base64.b64encode(b"".join(keys)).decode()]
        return {**identity, "batches": batches, "messages": int(current.get("messages", 0)) + len(keys)}
