"""CDC exactly once under kill -9: a random workload of inserts, updates and deletes (thousands of changes in
transactions of one to many rows) consumed by processes killed at random points and right between the Iceberg
commit and the slot's confirmation; re-run until caught up, the Iceberg table equals the source table row for
row, and the slot never confirmed a change the table did not hold."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sources.logical_postgres import logical_cluster, payments_context, payments_database
from tenantflow.catalog.hook import IcebergHook
from tenantflow.loading import state
from tenantflow.sources.pgoutput import lsn_int
from tenantflow.streams.consume import KILL_BEFORE_ACK

CHILD = Path(__file__).with_name("cdc_consume_child.py")
KEYS = 400


@pytest.fixture(scope="module")
def cluster():
    with logical_cluster() as c:
        yield c


def workload(conn, rng: random.Random, transactions: int) -> int:
    """Random transactions of 1..25 changes over a small key space (so updates and deletes hit); changes made."""
    changes = 0
    with conn.cursor() as cur:
        for _ in range(transactions):
            for _ in range(rng.choice([1, 1, 2, 5, 25])):
                key = rng.randint(1, KEYS)
                op = rng.random()
                if op < 0.45:
                    cur.execute("INSERT INTO payments (payment_id, account, amount, status, memo) VALUES "
                                "(%s, %s, %s, 'new', %s) ON CONFLICT (payment_id) DO UPDATE SET amount = "
                                "EXCLUDED.amount, memo = EXCLUDED.memo",
                                (key, f"acc-{key % 13}", round(rng.uniform(0, 5000), 2),
                                 rng.choice([None, "", "ünïcode", "x" * rng.randint(1, 300)])))
                elif op < 0.8:
                    cur.execute("UPDATE payments SET status = %s, amount = amount + 1 WHERE payment_id = %s",
                                (rng.choice(["paid", "refunded", "failed"]), key))
                elif op < 0.9:  # a multi-row update
                    cur.execute("UPDATE payments SET status = 'settled' WHERE payment_id BETWEEN %s AND %s",
                                (key, key + 10))
                else:
                    cur.execute("DELETE FROM payments WHERE payment_id = %s", (key,))
                changes += max(cur.rowcount, 0)
            conn.commit()
    return changes


def source_rows(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT payment_id, account, amount, status, memo FROM payments ORDER BY payment_id")
        rows = cur.fetchall()
    conn.commit()
    return rows


def table_rows(ctx):
    table = IcebergHook(ctx).table()
    if table is None:
        return []
    return [(r["payment_id"], r["account"], r["amount"], r["status"], r["memo"])
            for r in table.scan().to_arrow().sort_by("payment_id").to_pylist()]


def committed_lsn(ctx) -> int:
    table = IcebergHook(ctx).table()
    stream = state.read_state(table).stream if table is not None else None
    return lsn_int(stream["lsn"]) if stream else 0


def confirmed_lsn(conn, slot: str) -> int | None:
    with conn.cursor() as cur:
        cur.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        row = cur.fetchone()
    conn.commit()
    return lsn_int(row[0]) if row else None


def start_consumer(repo, home, slot, run_id, max_records, logs: Path, kill_before_confirm: float = 0.0):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "include"), str(repo / "tests")]),
           KILL_BEFORE_ACK: str(kill_before_confirm)}
    out, err = open(logs / f"{run_id}.out", "w"), open(logs / f"{run_id}.err", "w")  # files, never pipes
    return subprocess.Popen([sys.executable, str(CHILD), str(repo), str(home), slot, run_id, str(max_records),
                             str(logs / f"{run_id}.json")],
                            stdout=out, stderr=err, env=env)


def test_random_workload_with_kills_ends_equal_to_the_source(cluster, repo, tmp_path):
    rng = random.Random(int(os.environ.get("CDC_CRASH_SEED", "15")))
    db = payments_database(cluster, f"crash_{uuid.uuid4().hex[:8]}")
    conn = cluster.connect(db, autocommit=False)
    slot = f"tf_crash_{uuid.uuid4().hex[:8]}"
    ctx = payments_context(repo, tmp_path / "home", slot)
    logs = tmp_path / "logs"
    logs.mkdir()
    changes = workload(conn, rng, 40)  # the rows the initial snapshot copies
    kills = self_kills = 0
    confirm_passed_commit = 0
    for round_no in range(10):
        changes += workload(conn, rng, rng.randint(20, 60))
        self_kill = round_no % 3 == 1
        child = start_consumer(repo, tmp_path / "home", slot, f"run-{round_no}", rng.choice([10, 40, 200]), logs,
                               kill_before_confirm=0.5 if self_kill else 0.0)
        time.sleep(rng.uniform(3.0, 9.0))  # the interpreter and pyiceberg import take ~3 s: kills land mid-stream
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        self_kills += child.returncode == -signal.SIGKILL and self_kill
        committed, confirmed = committed_lsn(ctx), confirmed_lsn(conn, slot)
        if confirmed is not None and committed and confirmed > committed:
            # only psycopg2's keepalive answer moves the slot past the commit, and only once the consumer had
            # confirmed all it received: then nothing of this table lies in between and the table is complete
            confirm_passed_commit += 1
            assert table_rows(ctx) == source_rows(conn), f"round {round_no}: slot confirmed past the commit"
    assert changes > 2000 and kills >= 3 and self_kills >= 1
    for attempt in range(5):  # re-run until caught up (a run ends when the slot has nothing more)
        child = start_consumer(repo, tmp_path / "home", slot, f"final-{attempt}", 500, logs)
        assert child.wait(timeout=240) == 0, (logs / f"final-{attempt}.err").read_text()[-3000:]
        result = json.loads((logs / f"final-{attempt}.json").read_text())
        if result["messages"] == 0:
            break
    assert table_rows(ctx) == source_rows(conn)
    assert len(source_rows(conn)) > 50
    assert confirmed_lsn(conn, slot) >= committed_lsn(ctx)  # caught up: confirmed after the last commit
    redelivered = sum(json.loads(p.read_text())["dropped_redelivered"] for p in logs.glob("*.json"))
    logging.getLogger(__name__).info("changes=%d kills=%d self_kills=%d confirm_passed_commit=%d redelivered=%d",
                                     changes, kills, self_kills, confirm_passed_commit, redelivered)
    conn.close()
