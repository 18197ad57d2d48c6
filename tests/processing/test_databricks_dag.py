"""End to end: healthcare's Databricks pipeline through Airflow, against a local workspace stand-in.

The stand-in answers the Jobs API and executes the submitted python_wheel_task with this package
(as the workspace would run the wheel), so the table it writes can be checked against the source.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from demo.jobs_api import LocalJobsApi
from e2e.helpers import last_run_id, open_table, run_dag, task_states

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab_results_run(tmp_path_factory, airflow_db):
    from demo.data import generate_demo_data

    home = tmp_path_factory.mktemp("databricks-home")
    generate_demo_data(home, scale=0.01)
    with LocalJobsApi(step_seconds=0.3, default_scenario="execute") as workspace:
        env = {"TENANTFLOW_HOME": str(home),
               "AIRFLOW_CONN_HEALTHCARE__DATABRICKS": workspace.connection_uri_json("token-healthcare")}
        run_cli("tenantflow", "sync", env=env)
        result = run_dag("healthcare__lab_results", "2026-11-27", env=env)
        yield env, home, workspace, result.stdout + result.stderr


def _source(home) -> list[dict]:
    path = home / "sources" / "healthcare" / "lab_results" / "lab_results_2026-11.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_run_succeeds_through_one_databricks_run(lab_results_run):
    env, home, workspace, output = lab_results_run
    assert "state=success" in output, output[-4000:]
    [run] = workspace.created_runs()
    assert run.outcome == ("SUCCESS", None)
    # engine databricks writes the table in the job, not in a load task
    assert task_states("healthcare__lab_results", last_run_id("healthcare__lab_results", env=env), env=env) == (
        dict.fromkeys(["extract", "land", "quality", "databricks", "register"], "success"))


def test_the_job_wrote_the_transformed_rows(lab_results_run):
    from datetime import UTC, date, datetime

    env, home, workspace, _ = lab_results_run
    table = open_table("healthcare.lab_results", home=str(home)).scan().to_arrow()
    source = {r["result_id"]: r for r in _source(home)}
    assert table.num_rows == len(source)
    assert "collected_on" in table.schema.names
    for row in table.to_pylist()[:300]:
        s = source[row["result_id"]]
        # Spark's TIMESTAMP is an instant: the naive source time is read in the session time zone (UTC)
        collected = datetime.fromisoformat(s["collected_at"]).replace(tzinfo=UTC)
        assert (row["test_code"], row["value"], row["collected_at"]) == (s["test_code"], s["value"], collected)
        assert row["collected_on"] == date(collected.year, collected.month, collected.day)


def test_the_table_state_and_registration_match_the_local_contract(lab_results_run):
    env, home, workspace, _ = lab_results_run
    table = open_table("healthcare.lab_results", home=str(home))
    run_id = last_run_id("healthcare__lab_results", env=env)
    summary = table.current_snapshot().summary.additional_properties
    assert summary["tenantflow.run-id"] == run_id
    assert table.properties["tenantflow.tenant"] == "healthcare"  # the register task ran after the job
    body = workspace.submits()[0].body
    assert body["tasks"][0]["python_wheel_task"]["parameters"][3] == run_id
