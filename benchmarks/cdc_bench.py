"""CDC benchmark: changes per second applied from a PostgreSQL slot into Iceberg, against a plain decoder.

    python -m benchmarks.cdc_bench [--rows 20000] [--changes 200000] [--txn-rows 100]

A PostgreSQL cluster of its own (wal_level=logical, a temporary directory, a free port: never :5432) holds the
finance example's ``payments`` table with ``--rows`` rows. tenantflow's consumer copies it (the initial
snapshot), then a workload of ``--changes`` row changes is written (inserts, updates, deletes in transactions
of ``--txn-rows`` rows) and both consumers drain the same changes from their own slots:

- ``ours``: the ``cdc`` reader in the consume loop (pgoutput decoded, reduced per key, landed, merged into
  Iceberg with deletes in the same commit, slot confirmed after each commit);
- ``raw``: a plain psycopg2 consumer that only reads the slot and decodes the messages (no Arrow, no Iceberg).

``ratio`` = ours / raw changes per second. ``lag_s`` = seconds between the last source commit and the
consumer having committed it (what ``StreamLag.seconds`` reports at the end of the run). The Iceberg table is
checked equal to the source table at the end.
"""

from __future__ import annotations

import argparse
import logging
import select
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks._report import emit

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("cdc_bench")


def workload(conn, rows: int, changes: int, txn_rows: int) -> int:
    done, next_id, step = 0, rows + 1, 0
    with conn.cursor() as cur:
        while done < changes:
            step += 1
            kind = step % 4
            low = (step * txn_rows * 7) % rows + 1
            if kind == 0:
                cur.execute("INSERT INTO payments (payment_id, account, amount, status) SELECT g, 'acc-' || g %% 97, "
                            "g %% 1000 + 0.5, 'new' FROM generate_series(%s, %s) g", (next_id, next_id + txn_rows - 1))
                next_id += txn_rows
            elif kind == 3:
                cur.execute("DELETE FROM payments WHERE payment_id BETWEEN %s AND %s", (low, low + txn_rows // 4))
            else:
                cur.execute("UPDATE payments SET amount = amount + 1, status = 'paid' WHERE payment_id BETWEEN %s "
                            "AND %s", (low, low + txn_rows - 1))
            done += cur.rowcount
            conn.commit()
    return done


def raw_drain(cluster, db: str, slot: str, until_lsn: int) -> tuple[int, float]:
    """Read and decode the slot up to ``until_lsn``; (row changes seen, seconds)."""
    import psycopg2
    import psycopg2.extras

    from tenantflow.sources.pgoutput import Change, Commit, decode

    conn = psycopg2.connect(cluster.dsn(db), connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cur = conn.cursor()
    started = time.perf_counter()
    cur.start_replication(slot_name=slot, decode=False,
                          options={"proto_version": "1", "publication_names": "finance_payments"})
    seen = 0
    while True:
        message = cur.read_message()
        if message is None:
            select.select([cur], [], [], 0.05)
            continue
        decoded = decode(message.payload)
        if isinstance(decoded, Change):
            seen += 1
        elif isinstance(decoded, Commit):
            cur.send_feedback(flush_lsn=decoded.end_lsn)
            if decoded.end_lsn >= until_lsn:
                break
    seconds = time.perf_counter() - started
    conn.close()
    return seen, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument("--txn-rows", type=int, default=100)
    parser.add_argument("--batch", type=int, default=20_000, help="max_records of one micro-batch")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(REPO / "tests"))
    from sources.logical_postgres import logical_cluster, payments_context, payments_database
    from tenantflow.catalog.hook import IcebergHook
    from tenantflow.config.streams import MicroBatchLimits, RunLimits
    from tenantflow.sources.cdc_postgres import PostgresCDCReader
    from tenantflow.sources.pgoutput import lsn_int
    from tenantflow.streams.consume import consume

    with logical_cluster() as cluster, tempfile.TemporaryDirectory(prefix="cdc-bench-") as home:
        db = payments_database(cluster, f"bench_{uuid.uuid4().hex[:8]}")
        conn = cluster.connect(db, autocommit=False)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO payments (payment_id, account, amount, status) SELECT g, 'acc-' || g %% 97, "
                        "g %% 1000 + 0.5, 'new' FROM generate_series(1, %s) g", (args.rows,))
        conn.commit()
        ctx = payments_context(REPO, Path(home), "tf_bench_ours")
        limits = MicroBatchLimits(max_records=args.batch, max_seconds=5)
        run_limits = RunLimits(idle_seconds=1.0, max_seconds=3600, max_messages=10 * args.changes + args.rows)

        def reader():
            return PostgresCDCReader(tenant_id=ctx.tenant_id, source=ctx.pipeline.source, pipeline_ctx=ctx)

        started = time.perf_counter()
        consume(ctx, "snapshot", reader(), limits, run_limits)
        snapshot_s = time.perf_counter() - started
        with conn.cursor() as cur:
            cur.execute("SELECT pg_create_logical_replication_slot('tf_bench_raw', 'pgoutput')")
        conn.commit()
        made = workload(conn, args.rows, args.changes, args.txn_rows)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            (end_lsn,), = cur.fetchall()
        conn.commit()
        raw_changes, raw_s = raw_drain(cluster, db, "tf_bench_raw", lsn_int(end_lsn))
        started = time.perf_counter()
        result = consume(ctx, "stream", reader(), limits, run_limits)
        ours_s = time.perf_counter() - started - run_limits.idle_seconds  # the idle wait that ends the run
        table = IcebergHook(ctx).table().scan().to_arrow()
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), coalesce(sum(amount), 0) FROM payments")
            (count, total), = cur.fetchall()
        conn.commit()
        equal = table.num_rows == count and sum(table["amount"].to_pylist()) == total
        conn.close()
    ours_rate, raw_rate = result.messages / ours_s, raw_changes / raw_s
    emit("cdc", {"bench": "cdc", "changes": result.messages, "workload_changes": made, "rows": args.rows,
                 "txn_rows": args.txn_rows, "micro_batches": result.micro_batches,
                 "changes_per_s": round(ours_rate, 1), "raw_decode_changes_per_s": round(raw_rate, 1),
                 "ratio": round(ours_rate / raw_rate, 3), "lag_s": result.lag.get("seconds"),
                 "lag_bytes": result.lag.get("bytes"), "snapshot_rows_per_s": round(args.rows / snapshot_s, 1),
                 "table_equals_source": equal})


if __name__ == "__main__":
    main()
