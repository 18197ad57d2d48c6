"""Kubernetes per tenant: the objects `tenantflow k8s` renders for each tenant, pure and deterministic.

Per tenant, in namespace ``tenantflow-<id with '_' as '-'>`` (labelled with the tenant, its tier and the
``restricted`` Pod Security Standard):

* a ServiceAccount ``tenantflow-worker`` for the tenant's task pods (and a dedicated tenant's Celery workers),
  annotated for IRSA with the tenant's IAM role: ``workers.role_arn``, else with ``--account-id`` the
  role ``tenantflow-<id with '-'>`` that the IAM roles of the platform are generated under, else none;
* a ResourceQuota and a LimitRange derived from the quotas (below);
* NetworkPolicies (``k8s_network``): default deny, then DNS, the execution API and HTTPS out;
* a Role for the platform's scheduler (KubernetesExecutor: create, watch and delete the task pods), bound to
  the chart's scheduler ServiceAccount in the platform namespace;
* the pod template of the KubernetesExecutor (``pod-templates/<id>.yaml``: not applied, read by the scheduler).

Quota derivation. The tenant's pool caps its running tasks at ``quotas.pool_slots``, and the
KubernetesExecutor runs one pod per task, so at most ``pool_slots`` task pods run at once; a dedicated
tenant's Celery workers (``workers.replicas``, default 1) may run in the namespace too. So
``pods = pool_slots (+ replicas, dedicated tier)``, and each of ``requests.cpu``, ``requests.memory``,
``limits.cpu``, ``limits.memory`` is ``pods`` × the per-pod amount of ``workers.resources`` (default
500m/1Gi requested, 2/4Gi limit). The LimitRange gives every container those requests and limits by
default and caps it at the limits, so no pod can take more than one pool slot's share. Completed task
pods do not count (the quota counts pods that are not finished). No PersistentVolumeClaims or Services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from tenantflow import naming
from tenantflow.config.workers import WorkerResources, WorkerSettings, cpu_millis, memory_mebibytes
from tenantflow.deploy.helm_values import ROLE_ARN_ANNOTATION, TENANT_LABEL, TIER_LABEL
from tenantflow.deploy.k8s_network import Platform, network_policies

# What the manifests are validated against (tests/deploy/test_k8s_manifests.py, kubernetes-validate strict)
# and the Pod Security Standard version the namespaces enforce.
KUBERNETES_VERSION = "1.30"
SERVICE_ACCOUNT = "tenantflow-worker"
POD_TEMPLATE_NAME = "tenantflow-task"
BASE_CONTAINER = "base"  # the KubernetesExecutor runs the task in the container named "base"
AIRFLOW_UID = 50000  # the apache/airflow image's user (gid 0)
OUT_DIR = "helm-values/k8s"
DEMO_ACCOUNT_ID = "111122223333"  # the placeholder account of helm-values/values.yaml
OUT_OF_DATE_HINT = f"run `tenantflow k8s --account-id {DEMO_ACCOUNT_ID} --out {OUT_DIR}`"


def tenant_role_name(tenant_id: str) -> str:
    """The tenant's IAM role: the name the platform's per-tenant IAM roles are generated under."""
    return f"tenantflow-{tenant_id.replace('_', '-')}"


def role_arn(tenant_id: str, workers: WorkerSettings | None, account_id: str | None) -> str | None:
    """The IRSA role of the tenant's pods: its own `workers.role_arn`, else its generated role in the account."""
    if workers is not None and workers.role_arn:
        return workers.role_arn
    return f"arn:aws:iam::{account_id}:role/{tenant_role_name(tenant_id)}" if account_id else None


def _scaled_cpu(quantity: str, count: int) -> str:
    millis = cpu_millis(quantity) * count
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _scaled_memory(quantity: str, count: int) -> str:
    mebibytes = memory_mebibytes(quantity) * count
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"


def _requirements(resources: WorkerResources) -> dict[str, dict[str, str]]:
    return {"requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
            "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory}}


class TenantObjects:
    """The objects of one tenant (anything with `id`, `tier`, `quotas`, `workers`: a TenantConfig)."""

    def __init__(self, tenant: Any, platform: Platform) -> None:
        self.tenant, self.platform = tenant, platform
        self.namespace = naming.kubernetes_namespace(tenant.id)
        self.celery_workers = tenant.quotas.worker_queue is not None
        self.settings = tenant.workers or WorkerSettings()
        self.labels = {TENANT_LABEL: tenant.id, TIER_LABEL: str(tenant.tier)}

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace, "labels": dict(self.labels), **extra}

    @property
    def pods(self) -> int:
        """Task pods (one per pool slot) plus a dedicated tenant's Celery worker pods."""
        return self.tenant.quotas.pool_slots + (self.settings.replicas if self.celery_workers else 0)

    def namespace_object(self) -> dict[str, Any]:
        security = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
        security["pod-security.kubernetes.io/enforce-version"] = f"v{KUBERNETES_VERSION}"
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": {**self.labels, **security}}}

    def service_account(self) -> dict[str, Any]:
        arn = role_arn(self.tenant.id, self.tenant.workers, self.platform.account_id)
        meta = self._meta(SERVICE_ACCOUNT, **({"annotations": {ROLE_ARN_ANNOTATION: arn}} if arn else {}))
        # task code needs no Kubernetes API token (IRSA projects its own web-identity token)
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta,
                "automountServiceAccountToken": False}

    def resource_quota(self) -> dict[str, Any]:
        per_pod, pods = self.settings.resources, self.pods
        hard = {
            "pods": str(pods),
            "requests.cpu": _scaled_cpu(per_pod.requests.cpu, pods),
            "requests.memory": _scaled_memory(per_pod.requests.memory, pods),
            "limits.cpu": _scaled_cpu(per_pod.limits.cpu, pods),
            "limits.memory": _scaled_memory(per_pod.limits.memory, pods),
            "persistentvolumeclaims": "0",
            "services": "0",
        }
        return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": self._meta("tenant-quota"),
                "spec": {"hard": hard}}

    def limit_range(self) -> dict[str, Any]:
        sizes = _requirements(self.settings.resources)
        limit = {"type": "Container", "default": sizes["limits"], "defaultRequest": sizes["requests"],
                 "max": dict(sizes["limits"])}
        return {"apiVersion": "v1", "kind": "LimitRange", "metadata": self._meta("tenant-limits"),
                "spec": {"limits": [limit]}}

    def rbac(self) -> list[dict[str, Any]]:
        """The platform's scheduler (KubernetesExecutor, multi-namespace mode with a namespace list) creates,
        watches, adopts and deletes the task pods here: a Role of this namespace, not a ClusterRole."""
        name = "tenantflow-scheduler"
        rules = [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
        ]
        subject = {"kind": "ServiceAccount", "name": self.platform.scheduler_service_account,
                   "namespace": self.platform.namespace}
        return [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": self._meta(name),
             "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": self._meta(name),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
             "subjects": [subject]},
        ]

    def node_selector(self) -> dict[str, str]:
        """A dedicated tenant's nodes (as its worker set: `workers.node_selector`); standard tenants share nodes."""
        if not self.celery_workers:
            return {}
        selector = self.settings.node_selector
        return {TENANT_LABEL: self.tenant.id} if selector is None else dict(selector)

    def pod_template(self) -> dict[str, Any]:
        """The KubernetesExecutor's pod template: the executor adds the image, command and its own labels."""
        container = {
            "name": BASE_CONTAINER,
            "env": [{"name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "value": self.platform.execution_api_url}],
            "resources": _requirements(self.settings.resources),
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
        spec: dict[str, Any] = {
            "serviceAccountName": SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": AIRFLOW_UID, "runAsGroup": 0, "fsGroup": 0,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
        }
        if selector := self.node_selector():
            spec["nodeSelector"] = selector
        return {"apiVersion": "v1", "kind": "Pod", "metadata": self._meta(POD_TEMPLATE_NAME), "spec": spec}

    def objects(self) -> list[dict[str, Any]]:
        """Everything `kubectl apply` creates for the tenant (not the pod template), in dependency order."""
        return [self.namespace_object(), self.service_account(), self.resource_quota(), self.limit_range(),
                *network_policies(self.namespace, self.labels, self.platform, self.celery_workers), *self.rbac()]


GENERATED = "# GENERATED by `tenantflow k8s"


def is_generated(text: str) -> bool:
    """A file `tenantflow k8s` wrote (and may remove when its tenant is gone)."""
    return text.startswith(GENERATED)


def header(tenant_id: str, platform: Platform, what: str) -> str:
    command = "tenantflow k8s" + (f" --account-id {platform.account_id}" if platform.account_id else "")
    return (f"# GENERATED by `{command}` from tenant_configs/ -- do not edit.\n"
            f"# Tenant {tenant_id!r}: {what}\n"
            "# tests/deploy/test_k8s_manifests.py fails while it is out of date (README: Kubernetes per tenant)\n")


def render(objects: Sequence[dict[str, Any]], comment: str) -> str:
    """Multi-document YAML, keys in the order built (stable: the same configs give the same bytes)."""
    return comment + yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False, width=120,
                                        explicit_start=True)


def render_tenant(tenant: Any, platform: Platform) -> dict[str, str]:
    """{relative path: text}: ``<id>.yaml`` (kubectl apply) and ``pod-templates/<id>.yaml`` (the executor's)."""
    objects = TenantObjects(tenant, platform)
    return {
        f"{tenant.id}.yaml": render(objects.objects(), header(
            tenant.id, platform, "namespace, ServiceAccount, ResourceQuota, LimitRange, NetworkPolicies, RBAC.\n"
            f"# Apply: kubectl apply -f {OUT_DIR}/ (not recursive: the pod templates are not objects to create)")),
        f"pod-templates/{tenant.id}.yaml": render([objects.pod_template()], header(
            tenant.id, platform, "KubernetesExecutor pod template, read by the scheduler from [tenantflow]\n"
            "# kubernetes_pod_templates (the image copies this folder to /opt/airflow/pod-templates).")),
    }


def render_all(tenants: Sequence[Any], platform: Platform) -> dict[str, str]:
    files: dict[str, str] = {}
    for tenant in sorted(tenants, key=lambda t: t.id):
        files.update(render_tenant(tenant, platform))
    return files
