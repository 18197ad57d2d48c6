"""Consecutive failed runs of a pipeline, counted in an Airflow Variable through the task SDK.

Task code in Airflow 3 has no metadata-DB access, but the task SDK reads and writes Variables
through the execution API — in the task process (the failure callback) and in the dag-processor
(the DAG's success callback) alike. The Variable ``tenantflow_alerting__<dag_id>`` holds
``{"failures": n, "run_id": <last failed run>}``: a failed run adds one (once per run, however many
of its tasks fail), a successful run resets it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def variable_key(dag_id: str) -> str:
    return f"tenantflow_alerting__{dag_id}"


def record_failure(dag_id: str, run_id: str | None) -> int:
    """Count ``run_id`` as failed (idempotent per run); the number of consecutive failed runs."""
    from airflow.sdk import Variable

    state = Variable.get(variable_key(dag_id), default=None, deserialize_json=True) or {}
    if state.get("run_id") == run_id and run_id is not None:
        return int(state.get("failures", 1))
    failures = int(state.get("failures", 0)) + 1
    Variable.set(variable_key(dag_id), {"failures": failures, "run_id": run_id}, serialize_json=True,
                 description="tenantflow alerting: consecutive failed runs (reset by a successful run)")
    return failures


def record_success(dag_id: str) -> None:
    from airflow.sdk import Variable

    state = Variable.get(variable_key(dag_id), default=None, deserialize_json=True) or {}
    if state.get("failures"):
        Variable.set(variable_key(dag_id), {"failures": 0, "run_id": None}, serialize_json=True)
        log.info("%s succeeded after %s failed run(s): failure count reset", dag_id, state["failures"])


def escalates(failures: int, after_failures: int | None) -> bool:
    return after_failures is not None and failures >= after_failures
