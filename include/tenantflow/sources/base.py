"""What the extract stage asks of a source hook, and what it gets back (the same for every kind)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.config.models import Source
    from tenantflow.sources.bad_rows import BadRows


@dataclass(frozen=True)
class ExtractRequest:
    """One extract of one pipeline run."""

    source: Source
    bad_rows: BadRows
    cursor: str | None = None  # incremental cursor column
    watermark: str | None = None  # read rows after this cursor value (already moved back by the lookback)
    # files sources: the tenant-relative source path -> the URI/glob to read
    location: Callable[[str], str] = field(default=lambda path: path)
    # files sources: which of these files are committed already (None: read every matching file)
    loaded_files: Callable[[Iterable[str]], set[str]] | None = None
    # files sources on file arrival: the notified objects to read instead of listing the path (None: list it)
    notified_files: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SourceRead:
    tables: Iterator[pa.Table]  # lazy: nothing is read before the landing writer pulls
    description: str  # where the rows come from, for logs, errors and the manifest
    source_files: list[str] = field(default_factory=list)  # files sources: the files read (the load state)


class SourceHook(Protocol):
    tenant_id: str

    def extract(self, request: ExtractRequest) -> SourceRead: ...


def after_watermark_if_needed(tables: Iterator[Any], request: ExtractRequest) -> Iterator[Any]:
    """Rows after the watermark, for sources that cannot push the filter down (files, http)."""
    if request.cursor is None or request.watermark is None:
        return tables
    from tenantflow.loading.watermark import after_watermark

    return after_watermark(tables, request.cursor, request.watermark)
