"""Ingest benchmark: PostgreSQL table -> Iceberg through tenantflow's operators, against the raw limit.

    python -m benchmarks.ingest_bench [--rows 1000000]

Creates a database on this machine's PostgreSQL (127.0.0.1:5432) with an ``orders`` table of
``rows`` rows generated in the server. Then, in the same run:

* ``raw_s``: the raw limit — one Arrow-native read (ADBC, COPY binary) of the whole table and a
  single pyiceberg append, no framework;
* ``ours_s``: tenantflow's real code path — ExtractOperator (tenant-scoped hook, streamed Arrow
  batches into landing Parquet), LandOperator (publish + manifest) and IcebergLoadOperator
  (exactly-once append with run id in the snapshot) executed in-process, without Airflow's
  scheduler around them.

* ``dlt_s``: dlt 1.31 (``sql_table`` with the pyarrow backend, filesystem destination with
  ``table_format="iceberg"``), installed by this benchmark into a throwaway venv
  (``$TMPDIR/tenantflow-bench-dlt``, reused between runs) — never a dependency of the product.
  ``--no-dlt`` skips it.

* ``rss_1m_mb`` / ``rss_5m_mb``: peak RSS of a fresh process running tenantflow's path over 1M
  and 5M rows (``--no-rss`` skips it): streaming keeps memory flat as tables grow.

Both tenantflow and raw tables are compared (row count and sum of amounts). Prints one JSON line
(also written to bench-results/ingest.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._bench_tenant import FakeTaskInstance, bench_context
from benchmarks._report import emit

log = logging.getLogger("ingest_bench")
ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def create_source(rows: int) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"tf_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE orders AS SELECT g AS order_id, (g % 50000) AS customer_id, "
            "round((random() * 5000)::numeric, 2)::numeric(12,2) AS amount, "
            "(ARRAY['EUR','USD','GBP'])[1 + g % 3] AS currency, "
            "(ARRAY['placed','shipped','cancelled','refunded'])[1 + g % 4] AS status, "
            "timestamptz '2026-01-01' + (g || ' seconds')::interval AS updated_at, "
            "md5(g::text) AS note FROM generate_series(1, :n) AS g"), {"n": rows})
    engine.dispose()
    return name, url


def drop_source(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def raw(url: str, catalog: Any) -> float:
    import adbc_driver_postgresql.dbapi as adbc

    from tenantflow.loading.arrow_types import iceberg_compatible
    from tenantflow.sources.postgres_adbc import libpq_uri, normalise

    start = time.perf_counter()
    with adbc.connect(libpq_uri(url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT * FROM orders")
        reader = cursor.fetch_record_batch()
        import pyarrow as pa

        data = pa.concat_tables([normalise(b) for b in reader])
    data = iceberg_compatible(data)
    table = catalog.create_table("raw.orders", schema=data.schema)
    table.append(data)
    return time.perf_counter() - start


def ours(home: Path) -> float:
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator

    ctx = bench_context(home, {
        "id": "orders", "source": {"kind": "sql", "connection_id": "bench__pg", "table": "orders",
                                   "batch_rows": 200_000},
        "target": {"table": "orders", "mode": "append"}})
    ti = FakeTaskInstance()
    context = {"run_id": "bench__run_1", "ti": ti}
    start = time.perf_counter()
    ti.xcom["extract"] = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute(context)
    LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract").execute(context)
    IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(context)
    return time.perf_counter() - start


DLT_VERSION = "1.31.0"
DLT_RUNNER = """
import json, os, sys, time
import dlt
from dlt.sources.sql_database import sql_table
url, dest = sys.argv[1], sys.argv[2]
os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"] = "file://" + dest
start = time.perf_counter()
pipeline = dlt.pipeline(pipeline_name="bench", destination="filesystem", dataset_name="bench",
                        pipelines_dir=os.path.join(dest, ".dlt"))
pipeline.run(sql_table(credentials=url, table="orders", backend="pyarrow", chunk_size=100_000),
             table_format="iceberg", write_disposition="append")
print(json.dumps({"dlt_s": time.perf_counter() - start}))
"""


def dlt(url: str, root: Path) -> float | None:
    """dlt's time for the same table, from a throwaway venv; None (logged) if it cannot be installed."""
    import subprocess

    venv = Path(tempfile.gettempdir()) / "tenantflow-bench-dlt"
    python = venv / "bin" / "python"
    try:
        if not python.exists():
            log.info("installing dlt %s into %s (once)", DLT_VERSION, venv)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            spec = f"dlt[sql_database,pyiceberg,filesystem]=={DLT_VERSION}"
            subprocess.run([str(python), "-m", "pip", "install", "-q", spec,
                            "psycopg2-binary"], check=True, capture_output=True, timeout=900)
        runner = root / "run_dlt.py"
        runner.write_text(DLT_RUNNER)
        out = subprocess.run([str(python), str(runner), url, str(root / "dlt")], check=True, capture_output=True,
                             text=True, timeout=1800)
        return float(json.loads(out.stdout.strip().splitlines()[-1])["dlt_s"])
    except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
        log.error("dlt could not be measured: %s", exc)
        return None


def peak_rss_mb(rows: int) -> float:
    """Peak RSS of a fresh interpreter running tenantflow's path over ``rows`` generated rows."""
    import subprocess

    out = subprocess.run([sys.executable, "-m", "benchmarks.ingest_bench", "--rss-child", "--rows", str(rows)],
                         check=True, capture_output=True, text=True, timeout=1800)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"])


def rss_child(rows: int) -> int:
    import resource

    root = Path(tempfile.mkdtemp(prefix="tenantflow-rss-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    name, _ = create_source(rows)
    os.environ["AIRFLOW_CONN_BENCH__PG"] = json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 5432,
                                                       "login": "postgres", "schema": name})
    try:
        ours(root)
        print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))  # noqa: T201
        return 0
    finally:
        drop_source(name)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt comparison")
    parser.add_argument("--no-rss", action="store_true", help="skip the 1M/5M peak-RSS runs")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        logging.disable(logging.CRITICAL)
        return rss_child(args.rows)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("tenantflow").setLevel(logging.WARNING)
    root = Path(tempfile.mkdtemp(prefix="tenantflow-ingest-bench-"))
    os.environ.setdefault("AIRFLOW_HOME", str(root / "airflow"))
    name, url = create_source(args.rows)
    os.environ["AIRFLOW_CONN_BENCH__PG"] = json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 5432,
                                                       "login": "postgres", "schema": name})
    try:
        from tenantflow.catalog.catalogs import open_catalog
        from tenantflow.config.models import CatalogSettings

        settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                          "warehouse": "file://{home}/warehouse"})
        catalog = open_catalog("local", settings, str(root))
        catalog.create_namespace("raw")
        log.info("source: %d rows in PostgreSQL database %s", args.rows, name)
        raw_s = raw(url, catalog)
        log.info("raw (ADBC -> Arrow -> one append): %.2f s", raw_s)
        ours_s = ours(root)
        log.info("ours (extract -> land -> load operators): %.2f s", ours_s)
        dlt_s = None if args.no_dlt else dlt(url, root)
        log.info("dlt: %s s", dlt_s)
        rss = {} if args.no_rss else {"rss_1m_mb": peak_rss_mb(1_000_000), "rss_5m_mb": peak_rss_mb(5_000_000)}
        if rss:
            rss["rss_ratio_5m_vs_1m"] = round(rss["rss_5m_mb"] / rss["rss_1m_mb"], 2)
            rss = {k: round(v, 1) if k != "rss_ratio_5m_vs_1m" else v for k, v in rss.items()}
            log.info("peak RSS: %s", rss)
        a = catalog.load_table("raw.orders").scan(selected_fields=("amount",)).to_arrow()
        b = catalog.load_table("bench.orders").scan(selected_fields=("amount",)).to_arrow()
        import pyarrow.compute as pc

        if a.num_rows != b.num_rows or pc.sum(a["amount"]) != pc.sum(b["amount"]):
            log.error("tables differ: raw %d rows, ours %d rows", a.num_rows, b.num_rows)
            return 1
        result = {"bench": "ingest", "rows": args.rows, "ours_s": round(ours_s, 3), "raw_s": round(raw_s, 3),
                  "ratio_vs_raw": round(ours_s / raw_s, 2), "dlt_s": None if dlt_s is None else round(dlt_s, 3),
                  "speedup_vs_dlt": None if dlt_s is None else round(dlt_s / ours_s, 1),
                  **rss,
                  "targets": {"ratio_vs_raw": 1.3, "speedup_vs_dlt": 3, "rss_ratio_5m_vs_1m": 1.2},
                  "pass": ours_s / raw_s <= 1.3 and (dlt_s is None or dlt_s / ours_s >= 3)
                  and rss.get("rss_ratio_5m_vs_1m", 1.0) <= 1.2}
        emit("ingest", result)
        return 0
    finally:
        drop_source(name)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
