"""Tenants dashboard benchmark: page data with 1,000 tenants and 100,000 runs in a PostgreSQL metadata DB.

    python -m benchmarks.dashboard_bench [--tenants 1000] [--runs 100000] [--repeats 5]

A fresh database (``airflow db migrate``), each tenant with 3 pipeline DAGs + its maintenance DAG and a
pool; the runs (each with a quality and a load task and their XComs, ~12% failed) spread over 60 days,
bulk-loaded with COPY (tests/dashboard/metadata_seed.py); 200 tasks hold pool slots.

- ``overview_s``: the platform overview (all tenants' DAG ids for the scope, ``tenants_overview`` and the
  cost this month).
- ``tenant_page_s``: one tenant's page data (health, freshness, daily series, quota), median over tenants.
- Baseline in the same run: the overview built the naive way, the tenant-page queries per tenant in a
  loop (``naive_overview_s``, on a sample of tenants and scaled to all).

Passes when both are at most the 1 s target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import emit

log = logging.getLogger("dashboard_bench")
TARGET_S = 1.0
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the PostgreSQL and metadata-seeding helpers of the tests


def _seed(url: str, tenants: int, runs: int, now: dt.datetime) -> dict[str, list[str]]:
    import psycopg2

    from dashboard.metadata_seed import Run, Task, add_dags, add_pools, add_runs

    rng = random.Random(14)
    dags = {f"t{i:04d}": [f"t{i:04d}__p{j}" for j in range(3)] for i in range(tenants)}
    conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    add_dags(conn, [d for t, ds in dags.items() for d in [*ds, f"{t}__maintenance"]])
    add_pools(conn, {f"tenant_{t}": 4 for t in dags})
    pipelines = [d for ds in dags.values() for d in ds]
    batch: list = []
    done = 0
    for i in range(runs):
        dag_id = pipelines[i % len(pipelines)]
        at = now - dt.timedelta(seconds=rng.uniform(0, 60 * 86400))
        state = "failed" if rng.random() < 0.12 else "success"
        rows = rng.randint(100, 5000)
        tasks = (Task("quality", xcom={"rows": rows, "score": round(rng.uniform(0.8, 1), 3),
                                       "quarantined_rows": rng.choice((0, 0, 3))}),
                 Task("load", state=state, xcom={"table": f"{dag_id.replace('__', '.')}", "rows": rows,
                                                 "skipped": False}))
        if i < 200:  # tasks holding pool slots now
            tasks = (Task("extract", state="running"),)
            state = "running"
        batch.append(Run(dag_id, f"scheduled__{i}", state, at, tasks))
        if len(batch) == 20_000:
            done += add_runs(conn, batch)
            batch = []
            log.info("seeded %d/%d runs", done, runs)
    done += add_runs(conn, batch)
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.commit()
    conn.close()
    return dags


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive-sample", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from isolation.stack import drop_database, fresh_database

    url = fresh_database("dashbench")
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
                   "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
            subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                           capture_output=True, timeout=600)
        now = dt.datetime.now(dt.UTC)
        start = time.perf_counter()
        dags = _seed(url, args.tenants, args.runs, now)
        seed_s = time.perf_counter() - start
        result = _measure(url, dags, now, args)
        result.update(seed_s=round(seed_s, 1))
    finally:
        drop_database(url)
    emit("dashboard_bench", result)


def _measure(url: str, dags: dict[str, list[str]], now: dt.datetime, args: argparse.Namespace) -> dict:
    from airflow.models.dag import DagModel
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from tenantflow.dashboard import queries
    from tenantflow.dashboard.cost import cost_this_month
    from tenantflow.dashboard.scope import scope_from_dag_ids

    engine = create_engine(url)
    window = queries.Window(now)
    with Session(engine) as session:
        def overview() -> list:
            every = set(session.scalars(select(DagModel.dag_id)))
            scope = scope_from_dag_ids("platform_admin", every, platform=True)
            cost_this_month(session, scope.tenants)  # the API answers both: time both
            return queries.tenants_overview(session, list(scope.tenants), window)

        def page(dag_ids: list[str], tenant: str):
            return (queries.pipeline_health(session, dag_ids, window), queries.table_freshness(session, dag_ids),
                    queries.daily_series(session, dag_ids, window), queries.pool_usage(session, [f"tenant_{tenant}"]),
                    cost_this_month(session, [tenant]))

        rows = overview()
        assert len(rows) == args.tenants and sum(r["runs_7d"] for r in rows) > 0, rows[:2]
        overview_s = _timed(overview, args.repeats)
        sample = sorted(dags)[:: max(1, len(dags) // args.naive_sample)][: args.naive_sample]
        tenant_page_s = statistics.median(_timed(lambda t=t: page(dags[t], t), 1) for t in sample)
        start = time.perf_counter()
        for tenant in sample:  # the naive overview: the tenant page's queries, once per tenant
            page(dags[tenant], tenant)
        naive_s = (time.perf_counter() - start) * len(dags) / len(sample)
    engine.dispose()
    worst = max(overview_s, tenant_page_s)
    return {"benchmark": "dashboard", "tenants": args.tenants, "runs": args.runs,
            "overview_s": round(overview_s, 4), "tenant_page_s": round(tenant_page_s, 4),
            "target_s": TARGET_S, "naive_overview_s": round(naive_s, 3),
            "ratio_vs_naive": round(overview_s / naive_s, 4), "passed": worst <= TARGET_S}


if __name__ == "__main__":
    main()
