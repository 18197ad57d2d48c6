"""Cluster policy shipped with the distribution (registered via the ``airflow.policy`` entry point).

Every DAG loaded from the tenant entry folder (``dags/tenants/<tenant>.py``) must be a
well-formed DAG of that tenant: prefixed id, tenant tag, the tenant's pool on every task,
only the tenant's queue and connections. Anything else is an import error for that file,
so a task can never run in another tenant's pool or silently hang in a missing one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.policies import hookimpl

from tenantflow import naming

TENANT_DIR_NAME = "tenants"
_CONNECTION_ATTRS = ("conn_id", "connection_id")


def tenant_of(dag: Any) -> str | None:
    """The tenant a DAG belongs to: its entry file's name when loaded from ``dags/tenants/``."""
    fileloc = getattr(dag, "fileloc", None)
    if fileloc and Path(fileloc).parent.name == TENANT_DIR_NAME:
        return Path(fileloc).stem
    return None


def _connection_ids(task: Any) -> list[str]:
    ids = [v for k, v in vars(task).items() if isinstance(v, str) and k.endswith(_CONNECTION_ATTRS)]
    ctx = getattr(task, "pipeline_ctx", None)
    source = getattr(getattr(ctx, "pipeline", None), "source", None)
    if getattr(source, "connection_id", None):
        ids.append(source.connection_id)
    return ids


def dag_violations(dag: Any, tenant_id: str) -> list[str]:
    problems = []
    if naming.split_dag_id(dag.dag_id) is None or naming.split_dag_id(dag.dag_id)[0] != tenant_id:
        problems.append(f"DAG id must start with '{tenant_id}{naming.SEPARATOR}'")
    if naming.tenant_tag(tenant_id) not in (dag.tags or ()):
        problems.append(f"missing tag '{naming.tenant_tag(tenant_id)}'")
    pool, queue = naming.pool_name(tenant_id), naming.queue_name(tenant_id)
    for task in dag.tasks:
        if task.pool != pool:
            problems.append(f"task {task.task_id!r} uses pool {task.pool!r}, must be {pool!r}")
        if task.queue not in ("default", queue):
            problems.append(f"task {task.task_id!r} uses queue {task.queue!r}, must be 'default' or {queue!r}")
        for conn_id in _connection_ids(task):
            if not naming.owns_connection(tenant_id, conn_id):
                problems.append(f"task {task.task_id!r} uses connection {conn_id!r} of another tenant")
    return problems


@hookimpl
def dag_policy(dag: Any) -> None:
    tenant_id = tenant_of(dag)
    if tenant_id is None:
        return
    problems = dag_violations(dag, tenant_id)
    if problems:
        from airflow.exceptions import AirflowClusterPolicyViolation

        raise AirflowClusterPolicyViolation(
            f"DAG {dag.dag_id!r} violates tenant isolation of {tenant_id!r}: " + "; ".join(problems)
        )
