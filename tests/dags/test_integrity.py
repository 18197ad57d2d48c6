"""DAG integrity: every example tenant's DAGs load and carry the tenant's isolation settings."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tenantflow.config import load_all

REPO = Path(__file__).resolve().parents[2]
TENANT_FILES = sorted((REPO / "dags" / "tenants").glob("*.py"))
PLATFORM_DAGS = {"tenantflow_usage_report"}  # dags/platform/: the platform's own, no tenant's


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.fixture(scope="module")
def bundles():
    bundles, failures = load_all(REPO / "tenant_configs")
    assert not failures
    return bundles


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dagbag.import_errors.items())


def test_one_dag_per_enabled_pipeline_and_one_maintenance_dag_per_tenant(dagbag, bundles):
    pipelines = {f"{t}__{p.id}" for t, b in bundles.items() for p in b.pipelines if p.enabled}
    assert set(dagbag.dag_ids) == pipelines | {f"{t}__maintenance" for t in bundles} | PLATFORM_DAGS
    assert len(pipelines) >= 6


@pytest.mark.parametrize("entry", TENANT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_tenant_file_builds_only_its_tenant(dagbag, entry: Path):
    tenant = entry.stem
    dags = [d for d in dagbag.dags.values() if Path(d.fileloc) == entry]
    assert dags, f"{entry} produced no DAGs"
    for dag in dags:
        assert dag.dag_id.startswith(f"{tenant}__"), f"{dag.dag_id} from {entry} is not prefixed '{tenant}__'"


def test_every_task_carries_tenant_isolation(dagbag, bundles):
    for dag in dagbag.dags.values():
        if dag.dag_id in PLATFORM_DAGS:
            continue
        tenant_id = dag.dag_id.split("__")[0]
        tenant = bundles[tenant_id].tenant
        assert f"tenant:{tenant_id}" in dag.tags, dag.dag_id
        maintenance = dag.dag_id == f"{tenant_id}__maintenance"
        assert dag.max_active_runs == (1 if maintenance else tenant.quotas.max_active_runs), dag.dag_id
        assert dag.max_active_tasks == tenant.quotas.max_active_tasks, dag.dag_id
        assert not dag.access_control, f"{dag.dag_id}: per-DAG permissions are granted by the reconcile"
        assert dag.doc_md and tenant.display_name in dag.doc_md
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            assert task.pool == f"tenant_{tenant_id}", where
            assert task.retries == tenant.retries.retries, where
            assert task.owner == tenant.owners[0].email, where
            expected_queue = tenant.quotas.worker_queue or "default"
            assert task.queue == expected_queue, where


def test_stages_in_order(dagbag):
    dag = dagbag.dags["finance__orders"]
    order = ["extract", "land", "quality", "load", "register"]
    assert sorted(t.task_id for t in dag.tasks) == sorted(order)
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids, f"{upstream} -> {downstream}"
    outlets = dag.get_task("register").outlets
    assert [a.name for a in outlets] == ["finance.orders"]


def test_schedule_follows_config(dagbag):
    timetable = dagbag.dags["finance__orders"].timetable
    assert timetable.expression == "0 2 * * *"
    assert str(timetable.timezone) in ("Europe/Berlin", "Timezone('Europe/Berlin')")
    assert dagbag.dags["retail__products"].timetable.can_be_scheduled is False


def test_each_tenant_has_a_maintenance_dag_of_platform_tasks(dagbag, bundles):
    dag = dagbag.dags["retail__maintenance"]
    pipelines = sorted(p.id for p in bundles["retail"].pipelines if p.enabled)
    assert sorted(t.task_id for t in dag.tasks) == sorted([f"maintain_{p}" for p in pipelines]
                                                         + ["maintain_quality_tables"])
    assert {type(t).__module__ for t in dag.tasks} == {"tenantflow.operators.maintenance"}
    assert dag.timetable.expression == "30 3 * * *", "the platform's default maintenance schedule"
    assert {"platform", "maintenance", "tenant:retail"} <= set(dag.tags)


def test_a_pipeline_may_not_take_the_maintenance_dag_id(tmp_path):
    from tenantflow.config.models import PipelineConfig

    with pytest.raises(ValueError, match="'maintenance' is reserved for the platform's table-maintenance DAG"):
        PipelineConfig.model_validate({"id": "maintenance", "source": {"kind": "sql", "connection_id": "a__b",
                                       "table": "t"}, "target": {"table": "t", "mode": "append"}})
