"""`tenantflow helm-values`: one worker set per tenant worker queue, rendered from the tenant configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli
from tenantflow.config import load_tenant
from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import load_all
from tenantflow.deploy.helm_values import (
    GIT_CONFIG_DIR,
    OUT_OF_DATE_HINT,
    ROLE_ARN_ANNOTATION,
    TENANT_LABEL,
    render,
    tenant_values,
)
from yaml_edits import append, edit

VALUES = REPO / "helm-values" / "values.yaml"
TENANT_VALUES = REPO / "helm-values" / "tenants.values.yaml"


def sets_of(values: dict) -> list[dict]:
    return values["workers"]["celery"]["sets"]


def test_committed_tenant_values_are_up_to_date() -> None:
    bundles, failures = load_all(REPO / "tenant_configs")
    assert not failures, failures
    assert TENANT_VALUES.read_text() == render(tenant_values(bundles)), (
        f"{TENANT_VALUES.relative_to(REPO)} is out of date with tenant_configs/: {OUT_OF_DATE_HINT}"
    )


def test_every_worker_queue_has_exactly_one_worker_set() -> None:
    bundles, _ = load_all(REPO / "tenant_configs")
    queues = {b.tenant.id: b.tenant.quotas.worker_queue for b in bundles.values() if b.tenant.quotas.worker_queue}
    assert queues == {"healthcare": "tenant_healthcare"}  # the example's dedicated tenant
    consumed = [item["queue"] for item in sets_of(yaml.safe_load(TENANT_VALUES.read_text()))]
    for tenant_id, queue in queues.items():
        assert consumed.count(queue) == 1, f"tenant {tenant_id!r}: {consumed.count(queue)} sets consume {queue!r}"
    assert sorted(consumed) == sorted(queues.values()), f"worker sets for queues no tenant uses: {consumed}"
    assert "default" not in consumed, "the shared workers (default set) already consume 'default'"
    assert yaml.safe_load(TENANT_VALUES.read_text())["workers"]["celery"]["enableDefault"] is True


def test_each_set_repeats_every_env_entry_of_the_parent_workers() -> None:
    """A set's non-empty `env` replaces `workers.env`: anything set there only would vanish from the set."""
    parent_env = yaml.safe_load(VALUES.read_text())["workers"]["env"]
    assert {"name": "AIRFLOW__TENANTFLOW__CONFIG_DIR", "value": GIT_CONFIG_DIR} in parent_env
    for item in sets_of(yaml.safe_load(TENANT_VALUES.read_text())):
        missing = [entry for entry in parent_env if entry not in item["env"]]
        assert not missing, f"worker set {item['name']!r} lacks {missing} of workers.env in values.yaml"


def test_defaults_give_one_labelled_worker_on_the_tenants_nodes() -> None:
    bundles, _ = load_all(REPO / "tenant_configs")
    (item,) = sets_of(tenant_values(bundles))
    assert item["name"] == "tenant-healthcare"
    assert item["replicas"] == 1
    assert item["nodeSelector"] == {TENANT_LABEL: "healthcare"}
    assert item["labels"] == {TENANT_LABEL: "healthcare", "tenantflow.io/tier": "dedicated"}
    assert item["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert "serviceAccount" not in item  # the shared workers' IAM role, unless the tenant names one


def test_tenant_worker_settings_are_rendered(config_tree: Path) -> None:
    root = config_tree / "tenant_configs"
    append(root / "healthcare" / "tenant.yaml", """
workers:
  replicas: 3
  resources:
    requests: {cpu: "1", memory: 2Gi}
    limits: {cpu: 1500m, memory: 3072Mi}
  node_selector: {}
  role_arn: arn:aws:iam::111122223333:role/tenantflow-healthcare-workers
""")
    bundles, failures = load_all(root)
    assert not failures
    (item,) = sets_of(tenant_values(bundles))
    assert item["replicas"] == 3
    assert item["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                 "limits": {"cpu": "1500m", "memory": "3072Mi"}}
    assert "nodeSelector" not in item  # {}: runs where the shared workers run
    assert item["serviceAccount"] == {
        "annotations": {ROLE_ARN_ANNOTATION: "arn:aws:iam::111122223333:role/tenantflow-healthcare-workers"}
    }


def test_a_second_dedicated_tenant_gets_its_own_set_in_tenant_order(config_tree: Path) -> None:
    root = config_tree / "tenant_configs"
    edit(root / "finance" / "tenant.yaml", "  max_active_tasks: 6\n",
         "  max_active_tasks: 6\n  worker_queue: tenant_finance\n")
    bundles, failures = load_all(root)
    assert not failures
    values = tenant_values(bundles)
    assert [(s["name"], s["queue"]) for s in sets_of(values)] == [
        ("tenant-finance", "tenant_finance"), ("tenant-healthcare", "tenant_healthcare")]
    # pure and deterministic: the same configs give the same values whatever the bundles' order
    assert tenant_values(dict(reversed(list(bundles.items())))) == values
    assert render(tenant_values(bundles)) == render(values)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("workers:\n  replicas: 0\n", "greater than or equal to 1"),
        ("workers:\n  resources:\n    requests: {cpu: 2 cores, memory: 1Gi}\n", "cpu"),
        ("workers:\n  resources:\n    limits: {cpu: 100m, memory: 4Gi}\n", "limits.cpu '100m' is below requests.cpu"),
        ("workers:\n  resources:\n    limits: {cpu: '2', memory: 512Mi}\n", "limits.memory '512Mi' is below"),
        ("workers:\n  node_selector: {tenantflow.io/tenant: health care}\n", "not a Kubernetes label value"),
        ("workers:\n  role_arn: healthcare-role\n", "role_arn"),
    ],
    ids=["replicas", "cpu-quantity", "cpu-limit", "memory-limit", "label-value", "role-arn"],
)
def test_invalid_worker_settings_are_errors_naming_the_field(config_tree: Path, block: str, message: str) -> None:
    root = config_tree / "tenant_configs"
    append(root / "healthcare" / "tenant.yaml", "\n" + block)
    with pytest.raises(ConfigErrors) as info:
        load_tenant(root, "healthcare")
    text = str(info.value)
    assert "tenant.yaml" in text and "workers" in text and message in text, text


def test_workers_without_a_worker_queue_is_an_error(config_tree: Path) -> None:
    root = config_tree / "tenant_configs"
    append(root / "finance" / "tenant.yaml", "\nworkers:\n  replicas: 2\n")
    with pytest.raises(ConfigErrors) as info:
        load_tenant(root, "finance")
    assert "set quotas.worker_queue: tenant_finance" in str(info.value), str(info.value)


def cli(tree: Path, *args: str):
    return run_cli("tenantflow", *args, env={"TENANTFLOW_CONFIG_DIR": str(tree / "tenant_configs")}, check=False)


def test_cli_writes_the_values_file(config_tree: Path) -> None:
    out = config_tree / "tenants.values.yaml"
    result = cli(config_tree, "helm-values", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == TENANT_VALUES.read_text()
    assert cli(config_tree, "helm-values").stdout == TENANT_VALUES.read_text()


def test_cli_refuses_to_render_while_a_tenant_is_invalid(config_tree: Path) -> None:
    """Rendering without the broken tenant would delete its worker set and strand its queue."""
    edit(config_tree / "tenant_configs" / "healthcare" / "tenant.yaml", "pool_slots: 2", "pool_slots: zero")
    out = config_tree / "tenants.values.yaml"
    result = cli(config_tree, "helm-values", "--out", str(out))
    assert result.returncode == 1
    assert "healthcare" in result.stdout and "no values written" in result.stdout
    assert not out.exists()
