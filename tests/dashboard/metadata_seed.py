"""Rows in Airflow's metadata tables as the scheduler and the stage tasks leave them, bulk-loaded with COPY.

A run is a ``dag_run`` row, its stage ``task_instance`` rows and the return values those tasks pushed
(``xcom``, encoded the way the Task SDK stores them: the column holds the JSON text of the value).
Used by the dashboard's query tests and by benchmarks/dashboard_bench.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

BUNDLE = "dags-folder"


@dataclass(frozen=True)
class Task:
    task_id: str
    state: str = "success"
    xcom: dict[str, Any] | None = None  # its return value
    pool: str | None = None  # default: the tenant's pool
    end_offset: dt.timedelta = dt.timedelta(minutes=5)  # end_date = run_after + this


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str
    state: str
    run_after: dt.datetime
    tasks: Sequence[Task] = field(default_factory=tuple)


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    buffer, count = io.StringIO(), 0
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if v is None else v for v in row])
        count += 1
    buffer.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    return count


def add_dags(conn: Any, dag_ids: Iterable[str]) -> None:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO dag_bundle (name, active) VALUES (%s, true) ON CONFLICT DO NOTHING", (BUNDLE,))
        _copy(cur, "dag", ("dag_id", "is_paused", "is_stale", "bundle_name", "timetable_type", "partition_mapper_info",
                           "max_active_tasks", "max_consecutive_failed_dag_runs", "has_task_concurrency_limits"),
              ((d, False, False, BUNDLE, "cron", "{}", 16, 0, False) for d in dag_ids))
    conn.commit()


def add_pools(conn: Any, slots: dict[str, int]) -> None:
    with conn.cursor() as cur:
        _copy(cur, "slot_pool", ("pool", "slots", "description", "include_deferred"),
              ((name, n, "", False) for name, n in slots.items()))
    conn.commit()


def add_runs(conn: Any, runs: Iterable[Run]) -> int:
    """COPY the runs, their task instances and XComs; returns the number of runs."""
    runs = list(runs)
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM dag_run")
        (first_id,) = cur.fetchone()
        ids = {(r.dag_id, r.run_id): first_id + i + 1 for i, r in enumerate(runs)}
        _copy(cur, "dag_run", ("id", "dag_id", "run_id", "run_type", "run_after", "state", "start_date", "end_date"),
              ((ids[r.dag_id, r.run_id], r.dag_id, r.run_id, "scheduled", r.run_after.isoformat(), r.state,
                r.run_after.isoformat(), None if r.state in ("running", "queued") else
                (r.run_after + dt.timedelta(minutes=10)).isoformat()) for r in runs))
        cur.execute("SELECT setval('dag_run_id_seq', %s)", (first_id + len(runs),))

        def pool(run: Run, task: Task) -> str:
            return task.pool or f"tenant_{run.dag_id.split('__', 1)[0]}"

        def ended(run: Run, task: Task) -> str | None:
            return None if task.state in ("running", "queued", "deferred") else \
                (run.run_after + task.end_offset).isoformat()

        _copy(cur, "task_instance", ("id", "task_id", "dag_id", "run_id", "map_index", "try_number", "max_tries",
                                     "pool", "pool_slots", "state", "start_date", "end_date"),
              ((str(uuid.uuid4()), t.task_id, r.dag_id, r.run_id, -1, 1, 0, pool(r, t), 1, t.state,
                r.run_after.isoformat(), ended(r, t)) for r in runs for t in r.tasks))
        _copy(cur, "xcom", ("dag_run_id", "task_id", "map_index", "key", "dag_id", "run_id", "timestamp", "value"),
              ((ids[r.dag_id, r.run_id], t.task_id, -1, "return_value", r.dag_id, r.run_id,
                (r.run_after + t.end_offset).isoformat(), json.dumps(json.dumps(t.xcom)))
               for r in runs for t in r.tasks if t.xcom is not None))
    conn.commit()
    return len(runs)
