"""What the consume loop asks of a stream source (a queue broker, a CDC slot), and what it gets back.

A reader is bound to the tenant's own connection. The loop calls ``start`` with the stream position the
table's load state holds (None before the first commit), then ``next_batch`` until it returns None (nothing
more now) or the run's limits are reached; after the Iceberg commit that holds a batch it calls
``acknowledge`` (ack/delete the messages, confirm the LSN). A crash between the commit and the
acknowledgement redelivers the batch: the reader drops what the committed position says is loaded already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.config.streams import MicroBatchLimits
    from tenantflow.loading.commit import StreamMerge, StreamPosition
    from tenantflow.sources.bad_rows import BadRows


@dataclass
class MicroBatch:
    tables: list[pa.Table]
    """Decoded rows (the pipeline's ``column_types`` applied); may be empty (only poison or redelivered)."""
    stream_merge: StreamMerge
    """The stream position after this batch, made from the committed one at commit time (or a refusal)."""
    bad_rows: BadRows
    """Poison messages with their reasons: written to the run's rejects, then acknowledged with the batch."""
    messages: int = 0  # messages/changes received, poison and redelivered duplicates included
    bytes: int = 0  # payload bytes received
    duplicates: int = 0  # redelivered messages dropped as committed already
    token: Any = None  # the reader's own handle to acknowledge (delivery tags, receipt handles, an LSN)
    description: str = ""  # where the batch came from, for logs
    replaces_table: bool = False  # the batch is the whole table (a CDC initial snapshot): it replaces the rows

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables)


@dataclass(frozen=True)
class StreamLag:
    """How far the consumer is behind, as the broker tells it (None: the broker does not say)."""

    messages: int | None = None  # messages (or changes) waiting
    seconds: float | None = None  # age of the oldest waiting one (Kinesis: MillisBehindLatest)
    extra: Mapping[str, Any] = field(default_factory=dict)


class StreamReader(Protocol):
    tenant_id: str

    def start(self, committed: StreamPosition | None) -> None: ...

    def next_batch(self, limits: MicroBatchLimits) -> MicroBatch | None: ...

    def acknowledge(self, batch: MicroBatch) -> None: ...

    def lag(self) -> StreamLag: ...

    def close(self) -> None: ...
