"""The plan as a pure diff of two loaded states: renames without git, and one more section by one function."""

from __future__ import annotations

from pathlib import Path

from conftest import copy_config_tree
from tenantflow.config.loader import load_all
from tenantflow.review.model import ConfigState, Item, PlanInput, Section
from tenantflow.review.plan import SECTION_BUILDERS, build_plan
from tenantflow.review.render import markdown, text


def state(tree: Path, label: str) -> ConfigState:
    bundles, failures = load_all(tree / "tenant_configs")
    assert not failures, failures
    return ConfigState(label, label * 6, bundles)


def test_equal_pipeline_under_a_new_name_is_a_rename(tmp_path: Path) -> None:
    base = copy_config_tree(tmp_path / "base")
    head = copy_config_tree(tmp_path / "head")
    pipelines = head / "tenant_configs" / "retail" / "pipelines"
    (pipelines / "sales.yaml").rename(pipelines / "pos_sales.yaml")
    plan = build_plan(PlanInput(state(base, "aa"), state(head, "bb")))  # no renames from git

    section = next(s for s in plan.sections if s.title == "Pipelines and DAGs")
    assert [i.text for i in section.items] == [
        "pipeline renamed: retail/sales -> retail/pos_sales",
        "DAG ids added: retail__pos_sales",
        "DAG ids removed: retail__sales",
    ]
    assert section.items[0].details == (
        "a new DAG id: retail__pos_sales; the runs and logs of retail__sales stay under the old id "
        "(retail__sales is no longer parsed)",)
    assert "pipeline added" not in text(plan) and "pipeline removed" not in text(plan)


def test_a_further_section_is_one_builder(tmp_path: Path) -> None:
    tree = copy_config_tree(tmp_path)
    same = state(tree, "aa")

    def helm_values(plan_input: PlanInput) -> Section | None:
        queues = sorted(b.tenant.quotas.worker_queue for b in plan_input.head.bundles.values()
                        if b.tenant.quotas.worker_queue)
        return Section("Helm values", tuple(Item(f"worker queue {q}") for q in queues), ("helm values",))

    plan = build_plan(PlanInput(same, same), [*SECTION_BUILDERS, helm_values])
    assert plan.summary == "helm values", "the built-in sections see no change between equal states"
    assert "Helm values\n  - worker queue tenant_healthcare" in text(plan)
    assert "#### Helm values\n\n- worker queue tenant_healthcare" in markdown(plan)
    assert build_plan(PlanInput(same, same)).summary == "no changes"
