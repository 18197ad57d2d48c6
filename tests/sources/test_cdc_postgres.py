"""PostgreSQL CDC against a real PostgreSQL with wal_level=logical (a cluster of the test's own, never :5432):
the initial snapshot and the changes after it, deletes in the same commit as upserts, positions and lag,
and the refusals (TRUNCATE, no primary key, keys that are not the primary key, DDL, unchanged TOAST values)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import psycopg2.errors
import pytest

from sources.logical_postgres import logical_cluster, payments_context, payments_database
from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.streams import MicroBatchLimits, RunLimits
from tenantflow.loading import state
from tenantflow.sources.cdc_postgres import CDCSetupError, PostgresCDCReader
from tenantflow.sources.pgoutput import UnsupportedChange, lsn_int
from tenantflow.streams.consume import consume

QUICK = RunLimits(idle_seconds=0.5, max_seconds=60)
SMALL = MicroBatchLimits(max_records=50, max_seconds=1)


@pytest.fixture(scope="module")
def cluster():
    with logical_cluster() as c:
        yield c


@pytest.fixture
def db(cluster):
    name = payments_database(cluster, f"pay_{uuid.uuid4().hex[:8]}")
    conn = cluster.connect(name)
    yield conn
    conn.close()


@pytest.fixture
def ctx(repo, tmp_path):
    return payments_context(repo, tmp_path, f"tf_test_{uuid.uuid4().hex[:8]}")


def run(ctx, run_id="run-1", limits=SMALL):
    reader = PostgresCDCReader(tenant_id=ctx.tenant_id, source=ctx.pipeline.source, pipeline_ctx=ctx)
    return consume(ctx, run_id, reader, limits, QUICK), reader


def drop_slot(db, ctx):
    deadline = time.monotonic() + 30
    while True:  # the last run's walsender may take a moment to let go of the slot
        try:
            return execute(db, f"SELECT pg_drop_replication_slot('{ctx.pipeline.source.slot}')")
        except psycopg2.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def execute(db, *statements):
    with db.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def iceberg_rows(ctx):
    table = IcebergHook(ctx).table()
    if table is None:
        return []
    rows = table.scan().to_arrow().sort_by("payment_id").to_pylist()
    return [(r["payment_id"], r["account"], r["amount"], r["status"], r["memo"]) for r in rows]


def source_rows(db):
    with db.cursor() as cur:
        cur.execute("SELECT payment_id, account, amount, status, memo FROM payments ORDER BY payment_id")
        return cur.fetchall()


def slot_confirmed(db, ctx) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                    (ctx.pipeline.source.slot,))
        return lsn_int(cur.fetchone()[0])


def test_snapshot_then_changes_merge_with_deletes_in_the_same_commit(db, ctx):
    execute(db, "INSERT INTO payments (payment_id, account, amount, status, memo) "
                "SELECT g, 'acc-' || (g % 7), g * 1.25, 'new', NULL FROM generate_series(1, 300) g")
    first, _ = run(ctx)
    assert first.micro_batches == 1 and first.rows == 300  # the snapshot: one commit
    table = IcebergHook(ctx).table()
    assert "_cdc_deleted" not in table.schema().column_names
    snapshot_position = state.read_state(table).stream
    assert snapshot_position["snapshot"] is True and snapshot_position["slot"] == ctx.pipeline.source.slot
    assert iceberg_rows(ctx) == source_rows(db)

    execute(db,
            "BEGIN",
            "UPDATE payments SET status = 'paid', memo = 'ok' WHERE payment_id <= 100",
            "DELETE FROM payments WHERE payment_id BETWEEN 50 AND 60",
            "INSERT INTO payments (payment_id, account, amount, status) VALUES (1000, 'acc-x', 9.99, 'new')",
            "COMMIT",
            "UPDATE payments SET amount = amount + 1 WHERE payment_id = 1000",
            "DELETE FROM payments WHERE payment_id = 1000",
            "INSERT INTO payments (payment_id, account, amount, status) VALUES (1001, 'acc-y', 1, 'new')")
    before = len(table.inspect.snapshots())
    second, reader = run(ctx, "run-2", MicroBatchLimits(max_records=100_000, max_seconds=5))
    assert second.micro_batches == 1  # four transactions, one micro-batch, one Iceberg commit
    assert iceberg_rows(ctx) == source_rows(db)
    table = IcebergHook(ctx).table()
    assert len(table.inspect.snapshots()) == before + 1
    position = state.read_state(table).stream
    assert lsn_int(position["lsn"]) > lsn_int(snapshot_position["lsn"])
    assert slot_confirmed(db, ctx) >= lsn_int(position["lsn"])
    assert second.lag["slot"] == ctx.pipeline.source.slot and second.lag["bytes"] is not None
    assert second.lag["seconds"] is not None and second.lag["seconds"] < 60
    assert (1000, "acc-x", Decimal("10.99"), "new", None) not in iceberg_rows(ctx)


def test_an_empty_table_snapshots_then_streams_and_types_survive(db, ctx):
    run(ctx)
    assert IcebergHook(ctx).table() is None  # nothing to write yet; the slot's position is implied
    execute(db, "INSERT INTO payments VALUES (7, 'a', 12.34, 'new', 'héllo', '2026-12-04 10:00:00.123456+02')")
    run(ctx, "run-2")
    rows = IcebergHook(ctx).table().scan().to_arrow().to_pylist()
    assert len(rows) == 1 and rows[0]["amount"] == Decimal("12.34") and rows[0]["memo"] == "héllo"
    assert rows[0]["paid_at"].isoformat() == "2026-12-04T08:00:00.123456+00:00"


def test_a_crash_during_the_snapshot_starts_over_with_a_new_slot(db, ctx):
    execute(db, "INSERT INTO payments VALUES (1, 'a', 1, 'new', NULL)")
    reader = PostgresCDCReader(tenant_id=ctx.tenant_id, source=ctx.pipeline.source, pipeline_ctx=ctx)
    reader.start(None)  # slot created, the process "dies" before the snapshot commit
    reader.close()
    execute(db, "INSERT INTO payments VALUES (2, 'b', 2, 'new', NULL)")
    run(ctx)
    execute(db, "UPDATE payments SET status = 'paid'")
    run(ctx, "run-2")
    assert iceberg_rows(ctx) == source_rows(db)


def test_a_lost_slot_is_snapshotted_again_and_replaces_the_table(db, ctx):
    execute(db, "INSERT INTO payments VALUES (1, 'a', 1, 'new', NULL), (2, 'b', 2, 'new', NULL)")
    run(ctx)
    drop_slot(db, ctx)
    execute(db, "DELETE FROM payments WHERE payment_id = 1", "INSERT INTO payments VALUES (3, 'c', 3, 'new', NULL)")
    run(ctx, "run-2")
    assert iceberg_rows(ctx) == source_rows(db)


def test_truncate_is_refused_with_what_to_do(db, ctx):
    execute(db, "INSERT INTO payments VALUES (1, 'a', 1, 'new', NULL)")
    run(ctx)
    execute(db, "TRUNCATE payments")
    with pytest.raises(UnsupportedChange, match=r"TRUNCATE of public.payments .*pg_drop_replication_slot"):
        run(ctx, "run-2")
    assert len(iceberg_rows(ctx)) == 1  # nothing applied


def test_a_schema_change_is_refused(db, ctx):
    execute(db, "INSERT INTO payments VALUES (2, 'b', 2, 'new', NULL)")
    run(ctx)
    execute(db, "ALTER TABLE payments ADD COLUMN fee numeric(6, 2) DEFAULT 0",
            "INSERT INTO payments VALUES (1, 'a', 1, 'new', NULL, now(), 0.5)")
    with pytest.raises(UnsupportedChange, match=r"columns of public.payments changed \(DDL\)"):
        run(ctx, "run-2")


def test_an_unchanged_toast_value_is_refused_unless_replica_identity_full(db, ctx):
    big = "md5(random()::text) || " * 200 + "'x'"
    execute(db, f"INSERT INTO payments VALUES (1, 'a', 1, 'new', {big})")
    run(ctx)
    execute(db, "UPDATE payments SET status = 'paid' WHERE payment_id = 1")
    with pytest.raises(UnsupportedChange, match="REPLICA IDENTITY FULL"):
        run(ctx, "run-2")
    execute(db, "ALTER TABLE payments REPLICA IDENTITY FULL")
    drop_slot(db, ctx)
    run(ctx, "run-3")  # copied again
    execute(db, "UPDATE payments SET status = 'refunded' WHERE payment_id = 1")
    run(ctx, "run-4")
    assert iceberg_rows(ctx) == source_rows(db)


def test_a_table_without_primary_key_or_other_merge_keys_is_refused(db, repo, tmp_path):
    execute(db, "CREATE TABLE public.ledger (entry text)", "ALTER PUBLICATION finance_payments ADD TABLE ledger")
    ctx = payments_context(repo, tmp_path, "tf_test_nopk", table="public.ledger")
    with pytest.raises(CDCSetupError, match="has no primary key"):
        run(ctx)
    ctx = payments_context(repo, tmp_path, "tf_test_keys")
    ctx = type(ctx)(ctx.tenant, ctx.pipeline.model_copy(update={"target": ctx.pipeline.target.model_copy(
        update={"merge_keys": ("account",)})}), ctx.platform, ctx.home)
    with pytest.raises(CDCSetupError, match=r"must be the primary key of 'public.payments': \['payment_id'\]"):
        run(ctx)
    ctx = payments_context(repo, tmp_path, "tf_test_pub", publication="nope")
    with pytest.raises(CDCSetupError, match="CREATE PUBLICATION nope FOR TABLE public.payments"):
        run(ctx)
