"""What a Databricks run of a pipeline used, recorded as the task's XCom ``tenantflow_usage`` for chargeback.

The Jobs API's run gives wall time (``start_time``/``end_time`` in ms, cluster start-up included, as it
is billed); the node count is the job cluster's upper bound from the tenant's config (driver + autoscale
``max_workers``): the API does not report how far a run scaled, so chargeback never under-counts.
"""

from __future__ import annotations

from typing import Any

USAGE_XCOM_KEY = "tenantflow_usage"


def usage_record(run: dict[str, Any], *, nodes: int, node_type: str | None) -> dict[str, Any] | None:
    """The XCom value of one finished run (``jobs/runs/get`` JSON), or None when it never started."""
    start, end = run.get("start_time"), run.get("end_time")
    if not start or not end:
        return None
    cluster = run.get("cluster_instance") or next(
        (t["cluster_instance"] for t in run.get("tasks", []) if t.get("cluster_instance")), {})
    return {
        "kind": "databricks_run",
        "databricks_run_id": run.get("run_id"),
        "cluster_id": cluster.get("cluster_id"),
        "start_ms": int(start),
        "end_ms": int(end),
        "nodes": nodes,
        "node_type": node_type,
        "node_seconds": max(0.0, (int(end) - int(start)) / 1000.0) * nodes,
    }
