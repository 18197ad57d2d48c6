"""Tenant tasks on the KubernetesExecutor: the factory's executor arguments, the policy and the pod hook.

`[tenantflow] kubernetes_pod_templates` set: every task of a tenant names Airflow 3's per-task executor and
the tenant's pod template (plain strings); unset: nothing changes. The executor puts each pod into its own
namespace whatever the template says, so the cluster policy's pod mutation hook moves a tenant's pod into
the tenant's namespace -- called here through Airflow's policy plugin manager, as the executor calls it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tenantflow.factory import tenant_dags
from tenantflow.isolation.policy import dag_violations, executor_config_violations

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = "/opt/airflow/pod-templates"


def dags_of(tenant_id: str) -> dict:
    return tenant_dags(str(REPO / "dags" / "tenants" / f"{tenant_id}.py"))


@pytest.mark.parametrize("tenant_id", ["finance", "healthcare", "retail"])
def test_with_pod_templates_every_task_runs_on_the_kubernetes_executor_with_its_tenants_template(
        monkeypatch, tenant_id: str) -> None:
    monkeypatch.setenv("AIRFLOW__TENANTFLOW__KUBERNETES_POD_TEMPLATES", TEMPLATES)
    dags = dags_of(tenant_id)
    assert f"{tenant_id}__maintenance" in dags  # the platform's DAG of the tenant runs there too
    for dag in dags.values():
        for task in dag.tasks:
            assert task.executor == "KubernetesExecutor", (dag.dag_id, task.task_id)
            assert task.executor_config == {"pod_template_file": f"{TEMPLATES}/{tenant_id}.yaml"}, dag.dag_id
        assert dag_violations(dag, tenant_id) == [], dag.dag_id


def test_unset_nothing_changes(monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW__TENANTFLOW__KUBERNETES_POD_TEMPLATES", raising=False)
    monkeypatch.delenv("TENANTFLOW_KUBERNETES_POD_TEMPLATES", raising=False)
    for tenant_id in ("finance", "healthcare"):
        for dag in dags_of(tenant_id).values():
            for task in dag.tasks:
                assert task.executor is None and task.executor_config == {}, (dag.dag_id, task.task_id)
    healthcare = dags_of("healthcare")
    assert {t.queue for d in healthcare.values() for t in d.tasks} == {"tenant_healthcare"}  # Celery as before


@pytest.mark.parametrize(("config", "problem"), [
    ({"pod_template_file": "/opt/airflow/pod-templates/retail.yaml"},
     "uses pod template '/opt/airflow/pod-templates/retail.yaml', must be <folder>/finance.yaml"),
    ({"pod_template_file": "/opt/airflow/pod-templates/finance.yaml", "pod_override": object()},
     "sets executor_config 'pod_override'; only 'pod_template_file' is allowed"),
], ids=["other-tenants-template", "pod-override"])
def test_the_policy_refuses_another_tenants_pod_template_or_an_override(config: dict, problem: str) -> None:
    task = SimpleNamespace(task_id="extract", executor_config=config)
    assert executor_config_violations(task, "finance") == [f"task 'extract' {problem}"]
    own = SimpleNamespace(task_id="extract", executor_config={"pod_template_file": f"{TEMPLATES}/finance.yaml"})
    assert executor_config_violations(own, "finance") == []


def executor_pod(tenant_label: str | None, dag_id: str, namespace: str = "tenantflow") -> SimpleNamespace:
    """What the KubernetesExecutor hands the hook: the template's labels merged with its own, its namespace."""
    labels = {"kubernetes_executor": "True", "dag_id": dag_id}
    if tenant_label:
        labels["tenantflow.io/tenant"] = tenant_label
    return SimpleNamespace(metadata=SimpleNamespace(namespace=namespace, labels=labels,
                                                    annotations={"dag_id": dag_id, "task_id": "extract"}))


def test_the_pod_mutation_hook_moves_a_tenants_task_pod_into_its_namespace() -> None:
    from airflow.settings import pod_mutation_hook  # what the executor calls (the airflow.policy entry point)

    pod = executor_pod("acme_eu", "acme_eu__orders")
    pod_mutation_hook(pod)
    assert pod.metadata.namespace == "tenantflow-acme-eu"
    other = executor_pod(None, "platform_usage")  # a pod without a tenant template stays where it is
    pod_mutation_hook(other)
    assert other.metadata.namespace == "tenantflow"


def test_the_pod_mutation_hook_refuses_a_dag_on_another_tenants_template() -> None:
    from airflow.exceptions import AirflowClusterPolicyViolation
    from airflow.settings import pod_mutation_hook

    pod = executor_pod("finance", "retail__orders")
    with pytest.raises(AirflowClusterPolicyViolation, match="tenant 'finance'"):
        pod_mutation_hook(pod)
    assert pod.metadata.namespace == "tenantflow"


def test_the_executors_own_pod_construction_lands_in_the_tenant_namespace() -> None:
    """Where the cncf-kubernetes provider is installed (it is not in the lock: skipped otherwise): the pod the
    KubernetesExecutor builds from a committed template, through this package's hook, and what it must be."""
    pytest.importorskip("airflow.providers.cncf.kubernetes.pod_generator", reason="cncf-kubernetes provider")
    import kubernetes_validate
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    from tenantflow.deploy.k8s_manifests import KUBERNETES_VERSION

    def build(dag_id: str):
        template = PodGenerator.deserialize_model_file(str(REPO / "helm-values/k8s/pod-templates/healthcare.yaml"))
        return PodGenerator.construct_pod(
            namespace="tenantflow", scheduler_job_id="1", pod_id="healthcare-labs-extract", dag_id=dag_id,
            task_id="extract", kube_image="registry.example.com/platform/tenantflow:0.1.0", try_number=1,
            map_index=-1, date=None, run_id="manual__1", args=["python", "-m", "airflow"],
            pod_override_object=None, base_worker_pod=template, with_mutation_hook=True)

    pod = PodGenerator.serialize_pod(build("healthcare__partner_lab_results"))
    assert pod["metadata"]["namespace"] == "tenantflow-healthcare"  # not the executor's own "tenantflow"
    assert pod["spec"]["serviceAccountName"] == "tenantflow-worker"
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    with pytest.raises(Exception) as refused:  # the provider's PodMutationHookException, from our violation
        build("retail__online_sales")
    assert type(refused.value).__name__ == "PodMutationHookException"
    assert "tenant 'healthcare'" in str(refused.value.__cause__)
