"""Cluster policy shipped with the distribution (registered via the ``airflow.policy`` entry point).

Every DAG loaded from the tenant entry folder (``dags/tenants/<tenant>.py``) must be a
well-formed DAG of that tenant: prefixed id, tenant tag, the tenant's pool on every task,
only the tenant's queue and connections. Anything else is an import error for that file,
so a task can never run in another tenant's pool or silently hang in a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _assets(condition: Any) -> Iterator[Any]:
    """The Assets of a schedule's asset condition (``a & b``, ``a | b`` nest as ``.objects``)."""
    if condition is None:
        return
    objects = getattr(condition, "objects", None)
    if objects is not None:
        for member in objects:
            yield from _assets(member)
    elif getattr(condition, "uri", None) is not None:
        yield condition


def owns_asset(tenant_id: str, uri: str) -> bool:
    """Our Assets: a table of a namespace the tenant owns, or one of its pipelines' file-arrival Assets."""
    scheme, _, rest = uri.partition("://")
    parts = rest.split("/")
    if scheme == "x-iceberg" and len(parts) == 3:
        return naming.owns_namespace(tenant_id, parts[1])
    if scheme == "x-file-arrival" and len(parts) == 2:
        return parts[0] == tenant_id
    return False


def asset_violations(dag: Any, tenant_id: str) -> list[str]:
    """A tenant's DAG updates and is scheduled on its own Assets only; watchers read its queues as itself."""
    from tenantflow.triggers.file_arrival import FileArrivalTrigger

    problems = []
    for task in dag.tasks:
        for outlet in getattr(task, "outlets", None) or ():
            uri = getattr(outlet, "uri", None)
            if uri is not None and not owns_asset(tenant_id, uri):
                problems.append(f"task {task.task_id!r} updates asset {uri!r}, which is not tenant {tenant_id!r}'s")
    for asset in _assets(getattr(getattr(dag, "timetable", None), "asset_condition", None)):
        if not owns_asset(tenant_id, asset.uri):
            problems.append(f"the DAG is scheduled on asset {asset.uri!r}, which is not tenant {tenant_id!r}'s")
        for watcher in getattr(asset, "watchers", None) or ():
            trigger = watcher.trigger
            if not isinstance(trigger, FileArrivalTrigger) or trigger.tenant_id != tenant_id:
                problems.append(f"asset {asset.uri!r} is watched by {type(trigger).__name__} "
                                f"(must be tenantflow's FileArrivalTrigger of tenant {tenant_id!r})")
            elif not naming.owns_connection(tenant_id, trigger.aws_conn_id):
                problems.append(f"asset {asset.uri!r} is watched through connection {trigger.aws_conn_id!r} "
                                "of another tenant")
    return problems


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
        problems += executor_config_violations(task, tenant_id)
    return problems + asset_violations(dag, tenant_id)


def executor_config_violations(task: Any, tenant_id: str) -> list[str]:
    """A tenant task's executor_config names only the tenant's own pod template (`tenantflow k8s`): a
    `pod_override` or another tenant's template would run it with another identity, namespace or size."""
    config = getattr(task, "executor_config", None) or {}
    problems = [f"task {task.task_id!r} sets executor_config {key!r}; only 'pod_template_file' is allowed"
                for key in sorted(set(config) - {"pod_template_file"})]
    template = config.get("pod_template_file")
    if template is not None and Path(str(template)).name != f"{tenant_id}.yaml":
        problems.append(f"task {task.task_id!r} uses pod template {template!r}, must be <folder>/{tenant_id}.yaml")
    return problems


TENANT_POD_LABEL = "tenantflow.io/tenant"  # set by the tenant's pod template (tenantflow.deploy.k8s_manifests)


@hookimpl
def pod_mutation_hook(pod: Any) -> None:
    """A KubernetesExecutor task pod built from a tenant's pod template runs in the tenant's namespace.

    The executor overrides the template's namespace with its own (``[kubernetes_executor] namespace``); this
    hook, run by the executor on every pod it builds, puts it back, after checking that the pod's DAG is
    the tenant's (a DAG of tenant A on tenant B's template would otherwise run as B).
    """
    labels = getattr(pod.metadata, "labels", None) or {}
    tenant_id = labels.get(TENANT_POD_LABEL)
    if tenant_id is None or labels.get("kubernetes_executor") != "True":
        return  # not a tenant task pod of the KubernetesExecutor (e.g. a KubernetesPodOperator's pod)
    dag_id = (getattr(pod.metadata, "annotations", None) or {}).get("dag_id", "")
    parts = naming.split_dag_id(dag_id)
    if parts is None or parts[0] != tenant_id:
        from airflow.exceptions import AirflowClusterPolicyViolation

        raise AirflowClusterPolicyViolation(
            f"pod of DAG {dag_id!r} was built from tenant {tenant_id!r}'s pod template; a DAG runs on its own "
            "tenant's template only")
    pod.metadata.namespace = naming.kubernetes_namespace(tenant_id)


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
