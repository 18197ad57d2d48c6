"""`tenantflow plan` shows how the tenant part of the Helm values (worker sets) changes."""

from __future__ import annotations

from pathlib import Path

from test_plan import history, lines, plan  # noqa: F401  (the real-git-history fixture)

from conftest import copy_config_tree
from tenantflow.config.loader import load_all
from tenantflow.review.helm import helm_values_section
from tenantflow.review.model import ConfigState, PlanInput
from tenantflow.review.plan import build_plan
from tenantflow.review.render import markdown, text
from yaml_edits import append, edit

REMINDER = ("helm-values/tenants.values.yaml changes: run `tenantflow helm-values --out "
            "helm-values/tenants.values.yaml` and commit it; `helm upgrade` with both values files applies it")
FINANCE_SET = [
    "- worker set added: tenant-finance consuming queue tenant_finance (tenant finance)",
    "replicas 1, requests 500m CPU / 1Gi, limits 2 CPU / 4Gi",
    "nodeSelector tenantflow.io/tenant=finance",
    "IAM role: the shared workers role (workers.serviceAccount)",
]


def state(tree: Path, label: str) -> ConfigState:
    bundles, failures = load_all(tree / "tenant_configs")
    assert not failures, failures
    return ConfigState(label, label * 6, bundles)


def test_a_tenant_made_dedicated_gets_a_new_worker_set_in_the_plan(history) -> None:  # noqa: F811
    result = plan(history["repo"], "--base", str(history["renamed"]), "--head", str(history["tuned"]))
    assert result.returncode == 0, result.stdout + result.stderr
    out = lines(result)
    start = out.index("Helm values (worker sets)")
    assert out[start + 1:start + 6] == [*FINANCE_SET, f"- {REMINDER}"], result.stdout
    assert out[1].endswith(", 1 worker set added"), out[1]


def test_the_worker_set_in_the_markdown_plan(history) -> None:  # noqa: F811
    result = plan(history["repo"], "--base", "main", "--format", "markdown")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("#### Helm values (worker sets)\n\n"
            "- worker set added: tenant-finance consuming queue tenant_finance (tenant finance)\n"
            "  - replicas 1, requests 500m CPU / 1Gi, limits 2 CPU / 4Gi\n") in result.stdout
    assert f"- {REMINDER}\n" in result.stdout


def test_going_back_removes_the_worker_set(history) -> None:  # noqa: F811
    result = plan(history["repo"], "--base", str(history["tuned"]), "--head", str(history["renamed"]))
    assert result.returncode == 0, result.stdout + result.stderr
    out = lines(result)
    start = out.index("Helm values (worker sets)")
    assert out[start + 1:start + 3] == [
        "- worker set removed: tenant-finance (queue tenant_finance)",
        "its worker pods go at the next `helm upgrade`; tasks still queued on tenant_finance are not run"]


def test_changed_worker_settings_name_each_field(tmp_path: Path) -> None:
    base = copy_config_tree(tmp_path / "base")
    head = copy_config_tree(tmp_path / "head")
    append(head / "tenant_configs" / "healthcare" / "tenant.yaml", """
workers:
  replicas: 3
  resources:
    limits: {cpu: '4', memory: 8Gi}
  node_selector: {pool: clinical}
  role_arn: arn:aws:iam::111122223333:role/tenantflow-workers-healthcare
""")
    section = helm_values_section(PlanInput(state(base, "aa"), state(head, "bb")))
    assert section is not None and section.summary == ("1 worker set changed",)
    changed, reminder = section.items
    assert changed.text == "worker set changed: tenant-healthcare (queue tenant_healthcare)"
    assert changed.details == (
        "replicas: 1 -> 3",
        "resources.limits.cpu: 2 -> 4",
        "resources.limits.memory: 4Gi -> 8Gi",
        "nodeSelector: tenantflow.io/tenant=healthcare -> pool=clinical",
        "serviceAccount.annotations.eks.amazonaws.com/role-arn: none -> "
        "arn:aws:iam::111122223333:role/tenantflow-workers-healthcare",
    )
    assert reminder.text == REMINDER
    plan_text = text(build_plan(PlanInput(state(base, "aa"), state(head, "bb"))))
    assert "summary: 1 tenant changed, 1 worker set changed" in plan_text
    assert "      resources.limits.memory: 4Gi -> 8Gi" in plan_text
    assert "  - resources.limits.memory: 4Gi -> 8Gi" in markdown(build_plan(PlanInput(state(base, "aa"),
                                                                                     state(head, "bb"))))


def test_no_section_when_the_worker_sets_stay_the_same(tmp_path: Path) -> None:
    base = copy_config_tree(tmp_path / "base")
    head = copy_config_tree(tmp_path / "head")
    edit(head / "tenant_configs" / "healthcare" / "tenant.yaml", "pool_slots: 2", "pool_slots: 3")
    plan_input = PlanInput(state(base, "aa"), state(head, "bb"))
    assert helm_values_section(plan_input) is None
    assert "worker set" not in text(build_plan(plan_input))
