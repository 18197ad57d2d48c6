"""`tenantflow k8s`: per-tenant namespace, quota, network policies and pod template, checked offline.

No cluster runs here: every object is validated against the Kubernetes JSON schemas of KUBERNETES_VERSION
(kubernetes-validate, strict: an unknown field is an error), and the derivations are asserted directly.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from conftest import REPO, run_cli
from tenantflow.config.loader import load_all
from tenantflow.config.workers import WorkerSettings
from tenantflow.deploy.helm_values import ROLE_ARN_ANNOTATION, TENANT_LABEL
from tenantflow.deploy.k8s_manifests import (
    BASE_CONTAINER,
    DEMO_ACCOUNT_ID,
    KUBERNETES_VERSION,
    OUT_OF_DATE_HINT,
    SERVICE_ACCOUNT,
    TenantObjects,
    render_all,
    role_arn,
)
from tenantflow.deploy.k8s_network import Platform
from yaml_edits import append, edit

K8S_DIR = REPO / "helm-values" / "k8s"
DEMO = Platform(account_id=DEMO_ACCOUNT_ID)


def demo_tenants(root: Path = REPO / "tenant_configs") -> dict[str, Any]:
    bundles, failures = load_all(root)
    assert not failures, failures
    return {tenant_id: bundle.tenant for tenant_id, bundle in bundles.items()}


def committed_files() -> dict[str, str]:
    return {str(p.relative_to(K8S_DIR)): p.read_text() for p in sorted(K8S_DIR.rglob("*.yaml"))}


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_committed_manifests_are_up_to_date() -> None:
    rendered = render_all(list(demo_tenants().values()), DEMO)
    assert committed_files() == rendered, f"helm-values/k8s/ is out of date with tenant_configs/: {OUT_OF_DATE_HINT}"
    assert sorted(rendered) == ["finance.yaml", "healthcare.yaml", "pod-templates/finance.yaml",
                                "pod-templates/healthcare.yaml", "pod-templates/retail.yaml", "retail.yaml"]


@pytest.mark.parametrize("path", sorted(committed_files()))
def test_every_committed_object_validates_against_the_kubernetes_schema(path: str) -> None:
    documents = list(yaml.safe_load_all(committed_files()[path]))
    assert documents and all(documents)
    for document in documents:
        # strict: the schemas with additionalProperties false, so a misspelt or unknown field fails
        assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


@pytest.mark.parametrize(("kind", "break_it", "message"), [
    ("NetworkPolicy", lambda o: o["spec"].update(podSelecter={}), "podSelecter"),
    ("ResourceQuota", lambda o: o["spec"]["hard"].update(pods=["3"]), "is not valid under any of the given schemas"),
    ("Pod", lambda o: o["spec"]["containers"][0].update(resource={}), "resource"),
    ("ServiceAccount", lambda o: o.update(automountServiceAccountToken="no"), "is not of type 'boolean'"),
], ids=["misspelt-field", "wrong-type", "misspelt-container-field", "wrong-boolean"])
def test_the_validation_rejects_a_broken_object(kind: str, break_it: Any, message: str) -> None:
    tenant = demo_tenants()["finance"]
    objects = TenantObjects(tenant, DEMO)
    (obj,) = [o for o in [*objects.objects(), objects.pod_template()] if o["kind"] == kind][:1]
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)  # valid as rendered
    break_it(obj)
    with pytest.raises(kubernetes_validate.ValidationError, match=message):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_quota_is_pool_slots_task_pods_times_the_per_pod_resources() -> None:
    tenants = demo_tenants()
    finance = by_kind(TenantObjects(tenants["finance"], DEMO).objects(), "ResourceQuota")["tenant-quota"]
    # standard tier, pool_slots 4, default pod size 500m/1Gi requested, 2/4Gi limit
    assert finance["spec"]["hard"] == {"pods": "4", "requests.cpu": "2", "requests.memory": "4Gi",
                                       "limits.cpu": "8", "limits.memory": "16Gi",
                                       "persistentvolumeclaims": "0", "services": "0"}
    healthcare = by_kind(TenantObjects(tenants["healthcare"], DEMO).objects(), "ResourceQuota")["tenant-quota"]
    # dedicated: pool_slots 2 + 1 Celery worker replica
    assert healthcare["spec"]["hard"]["pods"] == "3"
    assert healthcare["spec"]["hard"]["requests.cpu"] == "1500m"
    assert healthcare["spec"]["hard"]["limits.memory"] == "12Gi"


def test_a_dedicated_tenants_workers_settings_size_the_quota_limits_and_pods(config_tree: Path) -> None:
    root = config_tree / "tenant_configs"
    append(root / "healthcare" / "tenant.yaml", """
workers:
  replicas: 3
  resources:
    requests: {cpu: "1", memory: 1536Mi}
    limits: {cpu: 1500m, memory: 3Gi}
  node_selector: {pool: etl}
""")
    objects = TenantObjects(demo_tenants(root)["healthcare"], DEMO)
    hard = by_kind(objects.objects(), "ResourceQuota")["tenant-quota"]["spec"]["hard"]
    assert (hard["pods"], hard["requests.cpu"], hard["requests.memory"]) == ("5", "5", "7680Mi")
    assert (hard["limits.cpu"], hard["limits.memory"]) == ("7500m", "15Gi")
    (limits,) = by_kind(objects.objects(), "LimitRange")["tenant-limits"]["spec"]["limits"]
    assert limits == {"type": "Container", "default": {"cpu": "1500m", "memory": "3Gi"},
                      "defaultRequest": {"cpu": "1", "memory": "1536Mi"}, "max": {"cpu": "1500m", "memory": "3Gi"}}
    pod = objects.pod_template()
    assert pod["spec"]["nodeSelector"] == {"pool": "etl"}
    assert pod["spec"]["containers"][0]["resources"] == {"requests": limits["defaultRequest"],
                                                         "limits": limits["default"]}


def test_service_account_role_annotation() -> None:
    own = WorkerSettings(role_arn="arn:aws:iam::444455556666:role/healthcare-own")
    assert role_arn("healthcare", own, DEMO_ACCOUNT_ID) == "arn:aws:iam::444455556666:role/healthcare-own"
    # the name the platform's per-tenant IAM roles are generated under: '_' becomes '-'
    assert role_arn("acme_eu", None, "123456789012") == "arn:aws:iam::123456789012:role/tenantflow-acme-eu"
    assert role_arn("acme_eu", WorkerSettings(), None) is None
    finance = demo_tenants()["finance"]
    (account,) = by_kind(TenantObjects(finance, Platform()).objects(), "ServiceAccount").values()
    assert "annotations" not in account["metadata"]  # no account id, no role of its own: the node's chain only
    (account,) = by_kind(TenantObjects(finance, DEMO).objects(), "ServiceAccount").values()
    assert account["metadata"] == {
        "name": SERVICE_ACCOUNT, "namespace": "tenantflow-finance",
        "labels": {TENANT_LABEL: "finance", "tenantflow.io/tier": "standard"},
        "annotations": {ROLE_ARN_ANNOTATION: f"arn:aws:iam::{DEMO_ACCOUNT_ID}:role/tenantflow-finance"}}
    assert account["automountServiceAccountToken"] is False


def egress_ports(policy: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for rule in policy["spec"].get("egress", []) for p in rule["ports"]}


def test_network_policy_denies_all_then_allows_dns_execution_api_and_https_out() -> None:
    policies = by_kind(TenantObjects(demo_tenants()["finance"], DEMO).objects(), "NetworkPolicy")
    assert sorted(policies) == ["default-deny", "task-egress"]  # standard tier: no Celery broker rule
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = policies["task-egress"]["spec"]
    assert egress["podSelector"] == {} and egress["policyTypes"] == ["Egress"] and "ingress" not in egress
    assert egress_ports(policies["task-egress"]) == {("UDP", 53), ("TCP", 53), ("TCP", 8080), ("TCP", 443)}
    dns, api, https = egress["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert api["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "tenantflow"}},
                          "podSelector": {"matchLabels": {"component": "api-server", "release": "tenantflow"}}}]
    (block,) = https["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    excluded = [ipaddress.ip_network(cidr) for cidr in block["ipBlock"]["except"]]
    for private in ("10.1.2.3", "172.20.0.10", "192.168.1.1", "169.254.169.254"):  # pods, VPC, instance metadata
        assert any(ipaddress.ip_address(private) in net for net in excluded), private


def test_only_a_dedicated_tenants_celery_workers_reach_the_broker() -> None:
    tenants = demo_tenants()
    for tenant_id in ("finance", "retail"):  # standard: tasks reach neither Redis nor the metadata DB
        policies = by_kind(TenantObjects(tenants[tenant_id], DEMO).objects(), "NetworkPolicy")
        assert all({6379, 5432}.isdisjoint(port for _, port in egress_ports(p)) for p in policies.values())
    policies = by_kind(TenantObjects(tenants["healthcare"], DEMO).objects(), "NetworkPolicy")
    worker = policies["celery-worker"]
    assert worker["spec"]["podSelector"] == {"matchLabels": {"component": "worker"}}  # not the task pods
    assert egress_ports(worker) == {("TCP", 6379), ("TCP", 5432)}
    redis = worker["spec"]["egress"][0]["to"][0]
    assert redis["podSelector"]["matchLabels"] == {"component": "redis", "release": "tenantflow"}
    assert worker["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8793}]  # the worker's log server
    assert egress_ports(policies["task-egress"]) == {("UDP", 53), ("TCP", 53), ("TCP", 8080), ("TCP", 443)}


def test_the_pod_template_is_what_the_kubernetes_executor_needs() -> None:
    tenants = demo_tenants()
    pod = TenantObjects(tenants["retail"], DEMO).pod_template()
    spec = pod["spec"]
    assert pod["metadata"]["namespace"] == "tenantflow-retail"
    assert pod["metadata"]["labels"][TENANT_LABEL] == "retail"  # the pod mutation hook keys on it
    assert [c["name"] for c in spec["containers"]] == [BASE_CONTAINER] == ["base"]
    assert spec["serviceAccountName"] == SERVICE_ACCOUNT and spec["restartPolicy"] == "Never"
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 50000
    (container,) = spec["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    # tasks in another namespace reach the api-server by its fully qualified name
    assert container["env"] == [{"name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                                 "value": "http://tenantflow-api-server.tenantflow.svc.cluster.local:8080/execution/"}]
    assert "nodeSelector" not in spec  # standard tier: the shared nodes
    dedicated = TenantObjects(tenants["healthcare"], DEMO).pod_template()
    assert dedicated["spec"]["nodeSelector"] == {TENANT_LABEL: "healthcare"}  # as its worker set


def test_namespaces_enforce_the_restricted_pod_security_standard() -> None:
    for tenant in demo_tenants().values():
        namespace = TenantObjects(tenant, DEMO).namespace_object()
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["pod-security.kubernetes.io/enforce-version"] == f"v{KUBERNETES_VERSION}"
        assert labels[TENANT_LABEL] == tenant.id


def test_the_scheduler_gets_a_role_in_each_tenant_namespace_not_a_cluster_role() -> None:
    objects = TenantObjects(demo_tenants()["finance"], DEMO).objects()
    assert not [o for o in objects if o["kind"].startswith("Cluster")]
    (binding,) = by_kind(objects, "RoleBinding").values()
    assert binding["metadata"]["namespace"] == "tenantflow-finance"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "tenantflow-scheduler",
                                    "namespace": "tenantflow"}]
    (role,) = by_kind(objects, "Role").values()
    assert {"create", "watch", "delete"} <= set(role["rules"][0]["verbs"]) and role["rules"][0]["resources"] == ["pods"]


def cli(tree: Path, *args: str):
    return run_cli("tenantflow", *args, env={"TENANTFLOW_CONFIG_DIR": str(tree / "tenant_configs")}, check=False)


def test_cli_writes_one_file_per_tenant_and_removes_a_retired_tenants(config_tree: Path) -> None:
    out = config_tree / "k8s"
    (out / "pod-templates").mkdir(parents=True)
    (out / "pod-templates" / "gone.yaml").write_text(committed_files()["pod-templates/retail.yaml"])
    (out / "kustomization.yaml").write_text("resources: []\n")  # not ours: stays
    result = cli(config_tree, "k8s", "--account-id", DEMO_ACCOUNT_ID, "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*.yaml"))}
    assert written.pop("kustomization.yaml") == "resources: []\n"
    assert written == committed_files()
    printed = cli(config_tree, "k8s", "retail", "--account-id", DEMO_ACCOUNT_ID)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "".join(f"# ==> {name} <==\n{committed_files()[name]}"
                                     for name in ("retail.yaml", "pod-templates/retail.yaml"))


def test_cli_refuses_to_render_while_a_tenant_is_invalid(config_tree: Path) -> None:
    edit(config_tree / "tenant_configs" / "healthcare" / "tenant.yaml", "pool_slots: 2", "pool_slots: zero")
    out = config_tree / "k8s"
    result = cli(config_tree, "k8s", "--out", str(out))
    assert result.returncode == 1
    assert "healthcare" in result.stdout and "no manifests written" in result.stdout
    assert not out.exists()
    assert cli(config_tree, "k8s", "finance").returncode == 0  # another tenant alone still renders
    unknown = cli(config_tree, "k8s", "nobody")
    assert unknown.returncode == 1 and "no tenant 'nobody'" in unknown.stderr


def test_values_yaml_names_every_tenant_namespace_for_the_executor() -> None:
    """The multi-namespace list in values.yaml's (commented) KubernetesExecutor block is every rendered namespace."""
    text = (REPO / "helm-values" / "values.yaml").read_text()
    (line,) = [ln for ln in text.splitlines() if "multi_namespace_mode_namespace_list:" in ln]
    listed = line.split(":", 1)[1].strip().split(",")
    rendered = [TenantObjects(t, DEMO).namespace for t in sorted(demo_tenants().values(), key=lambda t: t.id)]
    assert listed == rendered, f"helm-values/values.yaml lists {listed}, tenantflow k8s renders {rendered}"
    assert "kubectl apply -f helm-values/k8s/" in text
    assert "kubernetes_pod_templates: /opt/airflow/pod-templates" in text
