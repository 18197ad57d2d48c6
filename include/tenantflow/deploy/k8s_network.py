"""A tenant namespace's NetworkPolicies: deny everything, then allow the egress its pods need.

* ``default-deny``: every pod of the namespace, no ingress, no egress.
* ``task-egress`` (every pod): DNS to kube-dns in kube-system (UDP/TCP 53); Airflow 3's execution API
  on the chart's api-server pods in the platform namespace (TCP 8080) -- the only Airflow component a task
  talks to: Airflow 3 tasks never open the metadata DB, they report state, XComs, variables and
  connections through the execution API, so there is NO egress to PostgreSQL for task pods; HTTPS (TCP 443)
  to addresses outside the cluster and the private ranges (cloud APIs: S3, STS for IRSA, Secrets
  Manager, Databricks; the tenant's HTTP sources). The instance metadata range 169.254.0.0/16 is one of the
  excluded ranges, so a task cannot borrow the node's IAM role.
* ``celery-worker`` (dedicated tier only, pods labelled ``component: worker`` as the chart labels Celery
  workers): the broker (the chart's Redis, TCP 6379), the Celery result backend (the metadata DB, TCP 5432
  in ``result_backend_cidrs``), and ingress from the api-server to the worker's log server (TCP 8793).

A source on a private address or another port (a database in the VPC) needs a policy of its own; the
platform adds it beside these, as NetworkPolicies only ever add allowed traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DNS_PORT = 53
EXECUTION_API_PORT = 8080  # the chart's ports.apiServer: the api-server pod's port
HTTPS_PORT = 443
REDIS_PORT = 6379  # the chart's ports.redisDB
RESULT_BACKEND_PORT = 5432  # PostgreSQL metadata DB = Celery result backend (values.yaml data.metadataSecretName)
WORKER_LOGS_PORT = 8793  # the chart's ports.workerLogs: the api-server reads a running task's log there
NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace (immutable)


@dataclass(frozen=True)
class Platform:
    """Where the platform's Airflow runs: the Helm release (helm-values/values.yaml installs `tenantflow`
    into namespace `tenantflow`) and what the chart 1.19.0 names and labels there (its default naming,
    `useStandardNaming: false`: `<release>-<component>`; pods labelled `component`, `release`)."""

    namespace: str = "tenantflow"
    release: str = "tenantflow"
    account_id: str | None = None  # AWS account of the tenants' IAM roles (`--account-id`)
    excluded_ranges: tuple[str, ...] = (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918: pods, services, the VPC
        "100.64.0.0/10",  # carrier-grade NAT range, used for pod networks (EKS custom networking)
        "169.254.0.0/16",  # link-local: the instance metadata service (the node's credentials)
    )
    result_backend_cidrs: tuple[str, ...] = ("10.0.0.0/8",)  # where the metadata DB (RDS) lives

    @property
    def api_server_service(self) -> str:
        return f"{self.release}-api-server"

    @property
    def execution_api_url(self) -> str:
        """The URL task pods in another namespace use: the chart's own setting is the Service's short name."""
        return f"http://{self.api_server_service}.{self.namespace}.svc.cluster.local:{EXECUTION_API_PORT}/execution/"

    @property
    def scheduler_service_account(self) -> str:
        return f"{self.release}-scheduler"

    def component(self, name: str) -> dict[str, Any]:
        """A NetworkPolicy peer: the chart's pods of one component in the platform namespace."""
        return {"namespaceSelector": {"matchLabels": {NAME_LABEL: self.namespace}},
                "podSelector": {"matchLabels": {"component": name, "release": self.release}}}


def _ports(port: int, *protocols: str) -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": port} for protocol in protocols or ("TCP",)]


def _policy(namespace: str, name: str, labels: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def task_egress_rules(platform: Platform) -> list[dict[str, Any]]:
    """What every pod of a tenant needs: DNS, the execution API, HTTPS outside the cluster."""
    kube_dns = {"namespaceSelector": {"matchLabels": {NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    outside = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(platform.excluded_ranges)}}
    return [
        {"to": [kube_dns], "ports": _ports(DNS_PORT, "UDP", "TCP")},
        {"to": [platform.component("api-server")], "ports": _ports(EXECUTION_API_PORT)},
        {"to": [outside], "ports": _ports(HTTPS_PORT)},
    ]


def network_policies(namespace: str, labels: dict[str, str], platform: Platform,
                     celery_workers: bool) -> list[dict[str, Any]]:
    """The namespace's policies; ``celery_workers`` (a dedicated tenant) adds the worker pods' broker rules."""
    everything = {"podSelector": {}}
    policies = [
        _policy(namespace, "default-deny", labels, {**everything, "policyTypes": ["Ingress", "Egress"]}),
        _policy(namespace, "task-egress", labels,
                {**everything, "policyTypes": ["Egress"], "egress": task_egress_rules(platform)}),
    ]
    if celery_workers:
        database = [{"ipBlock": {"cidr": cidr}} for cidr in platform.result_backend_cidrs]
        policies.append(_policy(namespace, "celery-worker", labels, {
            "podSelector": {"matchLabels": {"component": "worker"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [platform.component("api-server")], "ports": _ports(WORKER_LOGS_PORT)}],
            "egress": [{"to": [platform.component("redis")], "ports": _ports(REDIS_PORT)},
                       {"to": database, "ports": _ports(RESULT_BACKEND_PORT)}],
        }))
    return policies
