"""SQL ingest benchmarks beyond PostgreSQL's single stream: MySQL/MariaDB and SQLite against ConnectorX's raw read,
and a partitioned PostgreSQL read against the single stream.

    python -m benchmarks.sql_ingest_bench --source mysql    [--rows 1000000] [--no-rss]
    python -m benchmarks.sql_ingest_bench --source sqlite   [--rows 1000000] [--no-rss]
    python -m benchmarks.sql_ingest_bench --source postgres --partitions 4 [--rows 10000000]

mysql / sqlite: an ``orders`` table of ``rows`` rows made in this machine's MariaDB (127.0.0.1:3306) or in a
SQLite file, then in the same run ``connectorx_raw_s`` — ConnectorX -> one Arrow table -> one pyiceberg append,
no framework — and ``ours_s`` — tenantflow's ExtractOperator, LandOperator and IcebergLoadOperator in process.
Both tables are compared (rows, sum of amounts). Target ``ratio_vs_raw`` <= 1.3. Then the peak RSS of a fresh
process running tenantflow's path over 1M and over 5M rows (``rss_ratio_5m_vs_1m``, target <= 1.2: the reads
stream in batches, so memory does not grow with the table; ``--no-rss`` skips it).

postgres: ``rows`` rows in a database of this machine's PostgreSQL; tenantflow's extract -> land -> load with
one stream and with ``partitions`` parallel reads on ``order_id``, each in a fresh process whose peak RSS is
kept. A figure to know (2 cores here), not a target.

Prints one JSON line (also written to bench-results/ingest_<source>.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._bench_tenant import FakeTaskInstance, bench_context
from benchmarks._report import emit

log = logging.getLogger("sql_ingest_bench")
MYSQL_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/"
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def make_mysql(rows: int) -> tuple[str, dict[str, Any]]:
    import sqlalchemy as sa

    name = f"tf_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
        conn.execute(sa.text(f"USE {name}"))  # MariaDB's seq_1_to_N tables live in the current database
        conn.execute(sa.text(
            f"CREATE TABLE {name}.orders (order_id BIGINT PRIMARY KEY, customer_id INT, amount DECIMAL(12,2), "
            "currency CHAR(3), status VARCHAR(12), updated_at DATETIME(6), note VARCHAR(32))"))
        conn.execute(sa.text(
            f"INSERT INTO {name}.orders SELECT seq, seq % 50000, (seq * 7919 % 500000) / 100, "
            "ELT(1 + seq % 3, 'EUR', 'USD', 'GBP'), ELT(1 + seq % 4, 'placed', 'shipped', 'cancelled', 'refunded'), "
            f"TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND, MD5(seq) FROM seq_1_to_{rows}"))
    admin.dispose()
    return name, {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": name}


def drop_mysql(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


def make_sqlite(rows: int, root: Path) -> tuple[str, dict[str, Any]]:
    path = root / "orders.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, currency TEXT, "
                "status TEXT, updated_at TIMESTAMP, note TEXT)")
    con.execute(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) "
        "INSERT INTO orders SELECT n, n % 50000, (n * 7919 % 500000) / 100.0, "
        "CASE n % 3 WHEN 0 THEN 'EUR' WHEN 1 THEN 'USD' ELSE 'GBP' END, "
        "CASE n % 4 WHEN 0 THEN 'placed' WHEN 1 THEN 'shipped' WHEN 2 THEN 'cancelled' ELSE 'refunded' END, "
        "datetime('2026-01-01', '+' || n || ' seconds'), hex(randomblob(16)) FROM g", (rows,))
    con.commit()
    con.close()
    return str(path), {"conn_type": "sqlite", "host": str(path)}


def make_postgres(rows: int) -> tuple[str, dict[str, Any]]:
    from benchmarks.ingest_bench import create_source

    name, _ = create_source(rows)
    return name, {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": name}


def drop_postgres(name: str) -> None:
    from benchmarks.ingest_bench import drop_source

    drop_source(name)


def open_local_catalog(root: Path) -> Any:
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    catalog = open_catalog("local", settings, str(root))
    catalog.create_namespace("raw")
    return catalog


def connectorx_raw(connection: dict[str, Any], catalog: Any) -> float:
    """The raw limit: one ConnectorX read of the whole table into Arrow, one pyiceberg append."""
    import connectorx

    from tenantflow.loading.arrow_types import iceberg_compatible

    if connection["conn_type"] == "sqlite":
        url = f"sqlite://{connection['host']}"
    else:
        url = f"mysql://{connection['login']}@{connection['host']}:{connection['port']}/{connection['schema']}"
    start = time.perf_counter()
    data = iceberg_compatible(connectorx.read_sql(url, "SELECT * FROM orders", return_type="arrow"))
    table = catalog.create_table("raw.orders", schema=data.schema)
    table.append(data)
    return time.perf_counter() - start


def ours(home: Path, **source: Any) -> float:
    """tenantflow's path: extract (streamed Arrow batches into landing Parquet) -> land -> exactly-once load."""
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator

    ctx = bench_context(home, {
        "id": "orders", "source": {"kind": "sql", "connection_id": "bench__src", "table": "orders",
                                   "batch_rows": 200_000, **source},
        "target": {"table": "orders", "mode": "append"}})
    ti = FakeTaskInstance()
    context = {"run_id": f"bench__run_{uuid.uuid4().hex[:6]}", "ti": ti}
    start = time.perf_counter()
    ti.xcom["extract"] = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute(context)
    LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract").execute(context)
    IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(context)
    return time.perf_counter() - start


def compare(catalog: Any, rows: int) -> None:
    import pyarrow.compute as pc

    a = catalog.load_table("raw.orders").scan(selected_fields=("amount",)).to_arrow()
    b = catalog.load_table("bench.orders").scan(selected_fields=("amount",)).to_arrow()
    total = (float(pc.sum(a["amount"]).as_py()), float(pc.sum(b["amount"]).as_py()))
    if not (a.num_rows == b.num_rows == rows and abs(total[0] - total[1]) < 1e-6 * max(1.0, abs(total[0]))):
        raise SystemExit(f"tables differ: raw {a.num_rows} rows (sum {total[0]}), ours {b.num_rows} rows "
                         f"(sum {total[1]}), source {rows} rows")


def against_connectorx(source: str, rows: int, rss: bool = True) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"tenantflow-{source}-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    name, connection = make_mysql(rows) if source == "mysql" else make_sqlite(rows, root)
    os.environ["AIRFLOW_CONN_BENCH__SRC"] = json.dumps(connection)
    try:
        catalog = open_local_catalog(root)
        raw_s = connectorx_raw(connection, catalog)
        log.info("raw (ConnectorX -> Arrow -> one append): %.2f s", raw_s)
        ours_s = ours(root)
        log.info("ours (extract -> land -> load operators): %.2f s", ours_s)
        compare(catalog, rows)
        memory: dict[str, Any] = {}
        if rss:
            memory = {"rss_1m_mb": round(peak_rss_mb(source, 1_000_000), 1),
                      "rss_5m_mb": round(peak_rss_mb(source, 5_000_000), 1)}
            memory["rss_ratio_5m_vs_1m"] = round(memory["rss_5m_mb"] / memory["rss_1m_mb"], 2)
            log.info("peak RSS: %s", memory)
        return {"bench": "ingest", "source": source, "rows": rows, "ours_s": round(ours_s, 3),
                "connectorx_raw_s": round(raw_s, 3), "ratio_vs_raw": round(ours_s / raw_s, 2), **memory,
                "target": {"ratio_vs_raw": 1.3, "rss_ratio_5m_vs_1m": 1.2},
                "pass": ours_s / raw_s <= 1.3 and memory.get("rss_ratio_5m_vs_1m", 1.0) <= 1.2}
    finally:
        if source == "mysql":
            drop_mysql(name)
        shutil.rmtree(root, ignore_errors=True)


def rss_child(source: str, rows: int) -> int:
    """Peak RSS of this fresh process running tenantflow's path over a new ``rows``-row source."""
    import resource

    root = Path(tempfile.mkdtemp(prefix=f"tenantflow-{source}-rss-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    name, connection = make_mysql(rows) if source == "mysql" else make_sqlite(rows, root)
    os.environ["AIRFLOW_CONN_BENCH__SRC"] = json.dumps(connection)
    try:
        ours(root)
        print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))  # noqa: T201
        return 0
    finally:
        if source == "mysql":
            drop_mysql(name)
        shutil.rmtree(root, ignore_errors=True)


def peak_rss_mb(source: str, rows: int) -> float:
    out = subprocess.run([sys.executable, "-m", "benchmarks.sql_ingest_bench", "--rss-child", "--source", source,
                          "--rows", str(rows)], check=True, capture_output=True, text=True, timeout=3600)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"])


def child(partitions: int) -> int:
    """One load of the prepared PostgreSQL table in this fresh process: its time and peak RSS."""
    import resource

    root = Path(tempfile.mkdtemp(prefix="tenantflow-partition-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    try:
        extra = {"partition_on": "order_id", "partitions": partitions} if partitions > 1 else {}
        seconds = ours(root, **extra)
        print(json.dumps({"s": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))  # noqa: T201
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def partitioned_postgres(rows: int, partitions: int) -> dict[str, Any]:
    name, connection = make_postgres(rows)
    env = {**os.environ, "AIRFLOW_CONN_BENCH__SRC": json.dumps(connection)}
    try:
        runs = {}
        for count in (1, partitions):
            out = subprocess.run([sys.executable, "-m", "benchmarks.sql_ingest_bench", "--child", str(count)],
                                 env=env, check=True, capture_output=True, text=True, timeout=3600)
            runs[count] = json.loads(out.stdout.strip().splitlines()[-1])
            log.info("%d stream(s): %.2f s, peak RSS %.0f MB", count, runs[count]["s"], runs[count]["rss_mb"])
        single, split = runs[1], runs[partitions]
        return {"bench": "ingest", "source": "postgres", "rows": rows, "partitions": partitions,
                "single_stream_s": round(single["s"], 3), "partitioned_s": round(split["s"], 3),
                "speedup": round(single["s"] / split["s"], 2), "rss_single_mb": round(single["rss_mb"], 1),
                "rss_partitioned_mb": round(split["rss_mb"], 1), "cores": os.cpu_count()}
    finally:
        drop_postgres(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=("mysql", "sqlite", "postgres"), default="mysql")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--no-rss", action="store_true", help="mysql/sqlite: skip the 1M/5M peak-RSS runs")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        logging.disable(logging.CRITICAL)
        return rss_child(args.source, args.rows)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)
    if args.child is not None:
        return child(args.child)
    if args.source == "postgres":
        result = partitioned_postgres(args.rows or 10_000_000, args.partitions)
    else:
        result = against_connectorx(args.source, args.rows or 1_000_000, rss=not args.no_rss)
    emit(f"ingest_{args.source}", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
