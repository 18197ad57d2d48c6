"""The cluster policy rejects a tenant DAG that escapes its tenant (pool, queue, connection, tags)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

HAND_WRITTEN = '''
"""A hand-written Airflow DAG dropped into the tenant entry folder."""
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("{dag_id}", start_date=datetime(2026, 1, 1), schedule=None, tags={tags!r}):
    EmptyOperator(task_id="t", pool={pool!r}, queue={queue!r})
'''


def _load(folder: Path, **kw) -> dict[str, str]:
    from airflow.dag_processing.dagbag import DagBag

    tenants = folder / "tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    (tenants / "finance.py").write_text(textwrap.dedent(HAND_WRITTEN.format(**kw)))
    return DagBag(dag_folder=str(tenants / "finance.py")).import_errors


OK = {"dag_id": "finance__hand", "tags": ["tenant:finance"], "pool": "tenant_finance", "queue": "default"}


def test_a_compliant_dag_loads(tmp_path):
    assert _load(tmp_path, **OK) == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pool": "default_pool"}, "uses pool 'default_pool', must be 'tenant_finance'"),
        ({"pool": "tenant_retail"}, "uses pool 'tenant_retail'"),
        ({"queue": "tenant_retail"}, "uses queue 'tenant_retail'"),
        ({"tags": []}, "missing tag 'tenant:finance'"),
        ({"dag_id": "retail__hand"}, "DAG id must start with 'finance__'"),
    ],
    ids=["default-pool", "other-tenant-pool", "other-tenant-queue", "no-tenant-tag", "foreign-prefix"],
)
def test_escaping_dags_are_import_errors(tmp_path, change, message):
    errors = _load(tmp_path, **{**OK, **change})
    assert len(errors) == 1, errors
    text = next(iter(errors.values()))
    assert "violates tenant isolation of 'finance'" in text and message in text, text


def test_factory_dags_pass_the_policy():
    from tenantflow.factory import tenant_dags
    from tenantflow.isolation.policy import dag_violations

    repo = Path(__file__).resolve().parents[2]
    for tenant in ("finance", "retail", "healthcare"):
        for dag in tenant_dags(str(repo / "dags" / "tenants" / f"{tenant}.py")).values():
            assert dag_violations(dag, tenant) == [], dag.dag_id
