"""PostgreSQL CDC: the tenant's replication hook and the stream reader of a ``cdc`` pipeline.

One logical replication slot per pipeline (pgoutput, the configured publication):

* **Initial snapshot.** Without a committed stream position the slot is (re-)created with EXPORT_SNAPSHOT and
  the table is copied in a REPEATABLE READ transaction on that snapshot: exactly the rows of the slot's
  consistent point. The copy is one micro-batch that replaces the table, committed with the position
  ``{"slot", "lsn": consistent point}``. A crash during the copy commits nothing: the next run finds a slot
  but no position, drops the slot and starts over (a slot that disappeared later is re-snapshotted too).
* **Streaming** from the committed LSN: a micro-batch is whole transactions (it ends at a Commit once the
  batch limits are reached), reduced to the last change per key (``cdc_changes``), committed with the end LSN
  of its last transaction. Only after that Iceberg commit is the slot confirmed (``send_feedback``); a
  transaction whose end LSN is not above the committed one is dropped as already loaded, so a crash between
  the commit and the confirmation is harmless.

Refused with what to do: TRUNCATE, a schema change of the table (DDL), a table without primary key or whose
primary key is not the target's ``merge_keys``, an unchanged TOAST value the stream does not carry.
"""

from __future__ import annotations

import logging
import select
import time
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.hook import BaseHook

from tenantflow.config.cdc import DELETED_COLUMN, CDCSource, default_slot
from tenantflow.isolation.guards import require_own_connection
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.cdc_changes import ChangeSet
from tenantflow.sources.pgoutput import (
    Begin,
    Change,
    Column,
    Commit,
    Relation,
    Truncate,
    UnsupportedChange,
    decode,
    lsn_int,
    lsn_text,
    rows_to_table,
)
from tenantflow.streams.reader import MicroBatch, StreamLag

if TYPE_CHECKING:
    from tenantflow.config.streams import MicroBatchLimits
    from tenantflow.loading.commit import StreamPosition
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)

QUIET = 0.3  # seconds without a message after a Commit: the stream caught up, the batch ends
_SESSION = "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres"


class CDCSetupError(ValueError):
    """The source database or table is not set up for CDC (wal_level, publication, primary key, slot)."""


class PostgresCDCHook(BaseHook):
    """The tenant's PostgreSQL connection ``<tenant>__<name>`` for CDC: SQL sessions and a replication session.

    Connection: conn_type postgres, host, port, login (with the REPLICATION attribute), password, schema = the
    database. Extra ``sslmode`` etc. are passed to libpq.
    """

    conn_name_attr = "connection_id"
    default_conn_name = "tenant__postgres"
    conn_type = "postgres"
    hook_name = "tenantflow PostgreSQL CDC source"

    def __init__(self, *, tenant_id: str, connection_id: str) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__()
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    def _params(self) -> dict[str, Any]:
        conn = self.get_connection(self.connection_id)
        params = {"host": conn.host or "localhost", "port": conn.port or 5432, "user": conn.login or None,
                  "password": conn.password or None, "dbname": conn.schema or None, "options": _SESSION,
                  "application_name": f"tenantflow-cdc-{self.tenant_id}"}
        passed = ("sslmode", "sslrootcert", "connect_timeout")
        params.update({k: v for k, v in conn.extra_dejson.items() if k in passed})
        return {k: v for k, v in params.items() if v is not None}

    def connect(self, *, autocommit: bool = True, **libpq: Any) -> Any:
        import psycopg2

        conn = psycopg2.connect(**{**self._params(), **libpq})
        conn.autocommit = autocommit
        return conn

    def connect_replication(self) -> Any:
        import psycopg2
        import psycopg2.extras

        return psycopg2.connect(connection_factory=psycopg2.extras.LogicalReplicationConnection, **self._params())


class PostgresCDCReader:
    """``StreamReader`` of a ``cdc`` source (see the module docstring for the protocol with the consume loop)."""

    def __init__(self, *, tenant_id: str, source: CDCSource, pipeline_ctx: PipelineContext) -> None:
        if not isinstance(source, CDCSource):
            raise TypeError(f"{type(self).__name__} reads cdc sources, not {source.kind!r}")
        self.tenant_id = tenant_id
        self.source = source
        self.hook = PostgresCDCHook(tenant_id=tenant_id, connection_id=source.connection_id)
        self.slot = source.slot or default_slot(tenant_id, pipeline_ctx.pipeline.id)
        self.merge_keys = tuple(pipeline_ctx.pipeline.target.merge_keys)
        self._sql: Any = None
        self._repl: Any = None
        self._cursor: Any = None
        self._relation: Relation | None = None
        self._expected: StreamPosition | None = None  # the position the table holds, as far as we know
        self._committed_lsn = 0
        self._snapshot: tuple[str, int] | None = None  # (exported snapshot name, consistent point) to copy
        self._snapshot_was_empty = False
        self._pending: list[Any] = []  # the messages of a transaction whose Commit has not arrived yet
        self._last_commit_time: datetime | None = None
        self._streaming = False
        self._signature: list[list[Any]] = []  # [name, type oid, type modifier] of the columns the table holds
        self.duplicates = 0  # changes dropped as committed already (redelivered after a crash)

    # ------------------------------------------------------------------ start: checks, slot, snapshot or resume

    def start(self, committed: StreamPosition | None) -> None:
        self._sql = self.hook.connect()
        self._check_source()
        if committed is not None and committed.get("slot") != self.slot:
            raise CDCSetupError(
                f"the table's committed position is for replication slot {committed.get('slot')!r}, the pipeline "
                f"now names {self.slot!r}: set source.slot back, or rebuild the table from a new snapshot (drop the "
                "Iceberg table)")
        exists = self._slot_exists()
        if exists:
            self._wait_until_inactive()
        self._repl = self.hook.connect_replication()
        self._cursor = self._repl.cursor()
        if committed is not None and exists:
            self._expected = committed
            self._committed_lsn = lsn_int(str(committed["lsn"]))
            self._signature = [list(c) for c in committed.get("columns") or []] or self._signature_now()
            log.info("CDC %s: resuming slot %s after LSN %s", self.source.table, self.slot, committed["lsn"])
            return
        if exists:
            log.warning("CDC %s: slot %s exists but no position was committed (a run died during the initial "
                        "snapshot): dropping it and starting over", self.source.table, self.slot)
            self._query("SELECT pg_drop_replication_slot(%s)", (self.slot,))
        elif committed is not None:
            log.warning("CDC %s: the committed position names slot %s, which no longer exists: copying the table "
                        "again (the snapshot replaces the Iceberg table)", self.source.table, self.slot)
        self._expected = committed
        self._cursor.execute(f"CREATE_REPLICATION_SLOT {self.slot} LOGICAL {self.source.plugin} EXPORT_SNAPSHOT")
        _name, point, snapshot, _plugin = self._cursor.fetchone()
        self._snapshot = (snapshot, lsn_int(point))
        log.info("CDC %s: created slot %s at consistent point %s", self.source.table, self.slot, point)

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return _fetch(self._sql, sql, params)

    def _slot_exists(self) -> bool:
        rows = self._query("SELECT plugin, database FROM pg_replication_slots WHERE slot_name = %s", (self.slot,))
        if rows and rows[0][1] != self._sql.info.dbname:
            raise CDCSetupError(f"replication slot {self.slot!r} belongs to database {rows[0][1]!r}; set source.slot")
        return bool(rows)

    def _wait_until_inactive(self, seconds: float = 30.0) -> None:
        """A consumer killed a moment ago may still hold the slot until its walsender notices; another live one
        holds it for good (one consumer per slot: PostgreSQL refuses a second)."""
        deadline = time.monotonic() + seconds
        while True:
            (pid,), = self._query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (self.slot,))
            if pid is None:
                return
            if time.monotonic() > deadline:
                raise CDCSetupError(f"replication slot {self.slot!r} is in use by process {pid} (another consumer of "
                                    "this pipeline?); one consumer per slot")
            time.sleep(0.2)

    def _check_source(self) -> None:
        check_source(self._sql, self.source, self.hook.connection_id, self.merge_keys)

    # ------------------------------------------------------------------ batches

    def next_batch(self, limits: MicroBatchLimits) -> MicroBatch | None:
        if self._snapshot is not None:
            return self._copy_snapshot()
        if not self._streaming:
            self._start_streaming()
        return self._stream_batch(limits)

    def _columns(self) -> tuple[Column, ...]:
        rows = self._query(
            "SELECT a.attname, a.atttypid, a.atttypmod, a.attnum = ANY(i.indkey) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
            "ORDER BY a.attnum",
            (self.source.schema_name, self.source.table_name))
        return tuple(Column(name, oid, modifier, bool(key)) for name, oid, modifier, key in rows)

    def _copy_snapshot(self) -> MicroBatch:
        import pyarrow as pa
        from psycopg2 import sql

        assert self._snapshot is not None
        name, point = self._snapshot
        columns = self._columns()
        self._signature = _signature(columns)
        started = time.monotonic()
        copy = self.hook.connect(autocommit=False)
        tables: list[pa.Table] = []
        try:
            with copy.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cur.execute("SET TRANSACTION SNAPSHOT %s", (name,))
            select_list = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c.name)) for c in columns)
            query = sql.SQL("SELECT {} FROM {}.{}").format(select_list, sql.Identifier(self.source.schema_name),
                                                          sql.Identifier(self.source.table_name))
            with copy.cursor(name="tenantflow_cdc_snapshot") as cur:
                cur.itersize = self.source.snapshot_fetch_rows
                cur.execute(query)
                while rows := cur.fetchmany(self.source.snapshot_fetch_rows):
                    flags = pa.array([False] * len(rows), pa.bool_())
                    tables.append(rows_to_table(columns, rows, {DELETED_COLUMN: flags}))
                    log.info("CDC %s: copied %d rows of the initial snapshot", self.source.table,
                             sum(t.num_rows for t in tables))
            copy.commit()
        finally:
            copy.close()
        self._snapshot = None
        rows = sum(t.num_rows for t in tables)
        self._snapshot_was_empty = rows == 0
        position = {"slot": self.slot, "lsn": lsn_text(point), "snapshot": True, "columns": self._signature}

        def merge(current: StreamPosition | None) -> StreamPosition:
            self._check_unmoved(current)
            return position

        log.info("CDC %s: initial snapshot of %d rows at %s in %.1fs", self.source.table, rows, lsn_text(point),
                 time.monotonic() - started)
        return MicroBatch(tables, merge, BadRows("fail"), messages=max(rows, 1), token=(point, position),
                          description=f"{self.hook.connection_id}:{self.source.table} snapshot at {lsn_text(point)}",
                          replaces_table=True)

    def _check_unmoved(self, current: StreamPosition | None) -> None:
        from tenantflow.loading.commit import LoadConflict

        # an empty snapshot commits no table (nothing to write): its position is implied until the first rows
        implied = current is None and self._snapshot_was_empty
        if current != self._expected and not implied:
            raise LoadConflict(f"CDC slot {self.slot}: the table's stream position moved to {current} while this "
                               f"consumer was at {self._expected} (another consumer?); nothing was committed")

    def _start_streaming(self) -> None:
        options = {"proto_version": "1", "publication_names": self.source.publication}
        self._cursor.start_replication(slot_name=self.slot, decode=False, options=options,
                                       start_lsn=self._committed_lsn, status_interval=10)
        self._streaming = True
        if self._committed_lsn:  # what the table holds is confirmed (again, after a crash ahead of the confirmation)
            self._cursor.send_feedback(flush_lsn=self._committed_lsn, force=True)

    def _stream_batch(self, limits: MicroBatchLimits) -> MicroBatch | None:
        """Whole transactions until a limit is reached at a Commit, the stream is quiet, or nothing came."""
        changes: ChangeSet | None = None
        size = duplicates = 0
        last: Commit | None = None
        started = heard = time.monotonic()
        first_at: float | None = None
        while True:
            message = self._cursor.read_message()
            now = time.monotonic()
            if message is None:
                if not self._pending:  # between transactions: the batch may end here
                    if last is not None and (now - (first_at or now) >= limits.max_seconds or now - heard >= QUIET):
                        break
                    if last is None and now - started >= min(limits.max_seconds, 1.0):
                        break
                select.select([self._cursor], [], [], 0.05)
                continue
            heard = now
            size += len(message.payload)
            decoded = decode(message.payload)
            if isinstance(decoded, Relation):
                self._on_relation(decoded)
            elif isinstance(decoded, Truncate):
                raise UnsupportedChange(
                    f"TRUNCATE of {self.source.table} (at {lsn_text(message.data_start)}) cannot be applied as row "
                    f"changes. Drop the slot (`SELECT pg_drop_replication_slot('{self.slot}')`): the next run copies "
                    "the table again and replaces the Iceberg table with it.")
            elif isinstance(decoded, Begin | Change):
                self._pending.append(decoded)
            elif isinstance(decoded, Commit):
                txn, self._pending = self._pending, []
                body = [c for c in txn if isinstance(c, Change)]
                if decoded.end_lsn <= self._committed_lsn:
                    duplicates += len(body)  # committed before a crash that came ahead of the confirmation
                    continue
                first_at = first_at if first_at is not None else now
                if body:
                    changes = changes or ChangeSet(self._require_relation(), self.slot, self.merge_keys)
                    for change in body:
                        changes.apply(change)
                last = decoded
                if changes is not None and (changes.changes >= limits.max_records or size >= limits.max_bytes
                                            or now - first_at >= limits.max_seconds):
                    break
        if duplicates:
            self.duplicates += duplicates
            log.info("CDC %s: dropped %d change(s) committed already (up to %s)", self.source.table, duplicates,
                     lsn_text(self._committed_lsn))
        if last is None:
            return None
        return self._batch(changes, last, size, duplicates)

    def _batch(self, changes: ChangeSet | None, last: Commit, size: int, duplicates: int) -> MicroBatch:
        position = {"slot": self.slot, "lsn": lsn_text(last.end_lsn), "commit_time": last.commit_time.isoformat(),
                    "columns": self._signature}
        tables = [changes.to_table()] if changes is not None else []

        def merge(current: StreamPosition | None) -> StreamPosition:
            self._check_unmoved(current)
            return position

        return MicroBatch(tables, merge, BadRows("fail"), messages=max(changes.changes if changes else 0, 1),
                          bytes=size, duplicates=duplicates, token=(last.end_lsn, position),
                          description=f"{self.hook.connection_id}:{self.source.table} up to {position['lsn']}")

    def _signature_now(self) -> list[list[Any]]:
        return _signature(self._columns())

    def _on_relation(self, relation: Relation) -> None:
        """The columns the stream sends must be those the table was copied with (no DDL since)."""
        if _signature(relation.columns) != self._signature:
            raise UnsupportedChange(self._ddl_message(relation))
        self._relation = relation

    def _ddl_message(self, relation: Relation) -> str:
        return (f"the columns of {relation.qualified} changed (DDL) while changes were streaming: "
                f"{[c.name for c in relation.columns]}. CDC does not apply schema changes; drop the slot (`SELECT "
                f"pg_drop_replication_slot('{self.slot}')`) so that the next run copies the table again.")

    def _require_relation(self) -> Relation:
        if self._relation is None:
            raise UnsupportedChange(f"a change of {self.source.table} came before its Relation message")
        return self._relation

    # ------------------------------------------------------------------ after the commit

    def acknowledge(self, batch: MicroBatch) -> None:
        if batch.token is None:
            return
        lsn, position = batch.token
        self._expected, self._committed_lsn = position, lsn
        self._snapshot_was_empty = self._snapshot_was_empty and not batch.rows
        if self._streaming:
            self._cursor.send_feedback(flush_lsn=lsn, force=True)
        if "commit_time" in position:
            self._last_commit_time = datetime.fromisoformat(str(position["commit_time"]))

    def lag(self) -> StreamLag:
        rows = self._query("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots "
                           "WHERE slot_name = %s", (self.slot,)) if self._sql is not None else []
        behind = int(rows[0][0]) if rows and rows[0][0] is not None else None
        seconds = None  # how old the last applied source commit is, while WAL is waiting behind it
        if behind == 0:
            seconds = 0.0
        elif self._last_commit_time is not None:
            seconds = max(0.0, (datetime.now(UTC) - self._last_commit_time).total_seconds())
        return StreamLag(messages=None, seconds=seconds, extra={"bytes": behind, "slot": self.slot,
                                                                "committed_lsn": lsn_text(self._committed_lsn)})

    def close(self) -> None:
        for conn in (self._repl, self._sql):
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # closing after a dropped connection
                    log.debug("closing a CDC connection failed", exc_info=True)
        self._repl = self._sql = self._cursor = None


def _fetch(conn: Any, sql: str, params: tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _signature(columns: tuple[Column, ...]) -> list[list[Any]]:
    return [[c.name, c.type_oid, c.type_modifier] for c in columns]


def check_source(conn: Any, source: CDCSource, connection_id: str, merge_keys: tuple[str, ...] | None) -> None:
    """What a slot and a snapshot of ``source.table`` need, or CDCSetupError saying what to set up."""
    table, schema, name = source.table, source.schema_name, source.table_name

    query = partial(_fetch, conn)
    (wal_level,), = query("SHOW wal_level")
    if wal_level != "logical":
        raise CDCSetupError(f"the source database of {connection_id!r} runs wal_level={wal_level}: CDC needs "
                            "wal_level=logical (postgresql.conf, then restart the server)")
    (replication,), = query("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
    if not replication:
        raise CDCSetupError(f"the login of {connection_id!r} lacks the REPLICATION attribute: ALTER ROLE … REPLICATION")
    found = query("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')", (schema, name))
    if not found:
        raise CDCSetupError(f"source.table {table!r} does not exist in {connection_id!r}")
    keys = [r[0] for r in query(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary ORDER BY a.attnum", (found[0][0],))]
    if not keys:
        raise CDCSetupError(f"source.table {table!r} has no primary key: CDC merges changes on it (add one, e.g. "
                            f"ALTER TABLE {table} ADD PRIMARY KEY (…))")
    if merge_keys is not None and set(keys) != set(merge_keys):
        raise CDCSetupError(f"target.merge_keys {list(merge_keys)} must be the primary key of {table!r}: {keys}")
    published = query("SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s "
                      "AND tablename = %s", (source.publication, schema, name))
    if not published:
        raise CDCSetupError(f"publication {source.publication!r} does not exist or does not include {table!r}: "
                            f"CREATE PUBLICATION {source.publication} FOR TABLE {table}")
