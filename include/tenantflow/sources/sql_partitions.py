"""Partitioned parallel reads of a big SQL source (``partition_on`` + ``partitions``).

The rows to read are fixed first, then split: with an incremental cursor the upper bound is read once
(``MAX(cursor)`` above the watermark) and every partition reads ``watermark < cursor <= upper``, so the
watermark the run commits is exactly the bound all partitions read up to, whatever order they finish in.
Then ``MIN``/``MAX`` of the integer ``partition_on`` column over those rows give ``partitions`` ranges of
equal width, plus one for ``partition_on IS NULL`` (no row is lost). Each partition is read on a
connection of its own in a thread (ADBC and ConnectorX read outside the GIL); their batches meet in a
queue of ``partitions`` batches, so memory stays bounded by the batches in flight.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.config.models import SqlSource

log = logging.getLogger(__name__)


def _scalar_row(url: str, statement: Any) -> Any:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(statement).one()
    finally:
        engine.dispose()


def ranges(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """``count`` half-open ranges [a, b) of equal width covering low..high (fewer when there are fewer values)."""
    width = max(1, math.ceil((high - low + 1) / count))
    return [(start, min(start + width, high + 1)) for start in range(low, high + 1, width)]


def partition_statements(url: str, source: SqlSource, cursor: str | None, watermark: Any | None,
                         build: Callable[..., Any]) -> list[Any]:
    """The statements of the partitions (each a subset of the rows; together every row once)."""
    import sqlalchemy as sa

    from tenantflow.sources.errors import SourceQueryError

    upper = None
    if cursor is not None:
        bounded = build(source, cursor, watermark, ordered=False).subquery("tenantflow_rows")
        (upper,) = _scalar_row(url, sa.select(sa.func.max(sa.column(cursor))).select_from(bounded))
        if upper is None:
            log.info("no row after the watermark %r: nothing to partition", watermark)
            return [build(source, cursor, watermark, ordered=False)]
    rows = build(source, cursor, watermark, upper=upper, ordered=False).subquery("tenantflow_rows")
    key = sa.column(source.partition_on)
    low, high = _scalar_row(url, sa.select(sa.func.min(key), sa.func.max(key)).select_from(rows))

    def select() -> Any:
        return sa.select(sa.text("*")).select_from(rows)

    if low is None:  # no rows, or only NULL keys
        return [select()]
    if not all(isinstance(v, int) or (hasattr(v, "is_integer") and v == int(v)) for v in (low, high)):
        raise SourceQueryError(f"source.partition_on {source.partition_on!r} must be an integer column "
                               f"(its values run from {low!r} to {high!r})")
    low, high = int(low), int(high)
    parts = [select().where(key >= a, key < b) for a, b in ranges(low, high, source.partitions)]
    log.info("reading %s in %d partition(s) of %s %d..%d%s", source.table or "the query", len(parts),
             source.partition_on, low, high, f", {cursor} up to {upper!r}" if cursor else "")
    return [*parts, select().where(key.is_(None))]


_DONE = object()


def read_parallel(readers: list[Callable[[], Iterator[pa.Table]]], workers: int) -> Iterator[pa.Table]:
    """The tables of every reader, as they come, ``workers`` readers at a time; the first failure is raised."""
    batches: queue.Queue[Any] = queue.Queue(maxsize=max(1, workers))
    todo: queue.SimpleQueue[Callable[[], Iterator[pa.Table]]] = queue.SimpleQueue()
    for reader in readers:
        todo.put(reader)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    reader = todo.get_nowait()
                except queue.Empty:
                    break
                for table in reader():
                    if not put(table):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            put(exc)
        finally:
            put(_DONE)

    threads = [threading.Thread(target=work, name=f"sql-partition-{i}", daemon=True)
               for i in range(min(workers, len(readers)))]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = batches.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
