"""Rows a test writes into a migrated Airflow metadata DB: DAG runs, task tries, XComs (known usage)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa


def insert_runs(engine: sa.Engine, tries: list[dict[str, Any]], xcoms: list[dict[str, Any]] = ()) -> None:
    """``tries``: dicts of dag_id, task_id, start, end, pool_slots and optionally ``earlier`` (a list of
    (start, end) of earlier tries, recorded in task_instance_history as Airflow does on a retry)."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.models.xcom import XComModel

    runs: dict[tuple[str, str], int] = {}
    with engine.begin() as conn:
        # the DAG's latest version, when its file was parsed (`airflow dags reserialize`), as Airflow records it
        versions = dict(conn.execute(sa.select(DagVersion.dag_id, DagVersion.id).order_by(DagVersion.version_number)
                                     ).all())
        for t in tries:
            run_id = t.get("run_id", f"manual__{t['start'].isoformat()}")
            key = (t["dag_id"], run_id)
            if key not in runs:
                result = conn.execute(sa.insert(DagRun.__table__).values(
                    dag_id=t["dag_id"], run_id=run_id, run_type="manual", run_after=t["start"],
                    logical_date=None, state="success", clear_number=0, span_status="not_started",
                    start_date=t["start"], end_date=t["end"]))
                runs[key] = result.inserted_primary_key[0]
            earlier = t.get("earlier", [])
            ti_id = uuid.uuid4()
            common = dict(task_id=t["task_id"], dag_id=t["dag_id"], run_id=run_id, map_index=-1,
                          pool=t.get("pool", "default_pool"), pool_slots=t["pool_slots"], span_status="not_started",
                          state="success", dag_version_id=versions.get(t["dag_id"]), task_display_name=t["task_id"])
            conn.execute(sa.insert(TaskInstance.__table__).values(
                id=ti_id, start_date=t["start"], end_date=t["end"], try_number=len(earlier) + 1, max_tries=3,
                duration=(t["end"] - t["start"]).total_seconds(), **common))
            for number, (start, end) in enumerate(earlier, start=1):
                conn.execute(sa.insert(TaskInstanceHistory.__table__).values(
                    task_instance_id=ti_id, try_number=number, start_date=start, end_date=end,
                    duration=(end - start).total_seconds(), max_tries=3, **{**common, "state": "failed"}))
        for x in xcoms:
            run_id = next(r for (d, r) in runs if d == x["dag_id"])
            conn.execute(sa.insert(XComModel.__table__).values(
                dag_run_id=runs[(x["dag_id"], run_id)], task_id=x["task_id"], map_index=-1, key=x["key"],
                dag_id=x["dag_id"], run_id=run_id, value=json.dumps(x["value"]), timestamp=x["timestamp"]))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
