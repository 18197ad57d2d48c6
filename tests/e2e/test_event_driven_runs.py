"""Event-driven schedules under a real scheduler and triggerer (PostgreSQL, LocalExecutor, moto S3/SQS).

* file arrival: an object put in the tenant's bucket makes S3 send an event notification to the tenant's
  SQS queue (moto delivers bucket notifications to SQS); the triggerer's watcher turns it into an asset
  event, the scheduler starts a run by itself, and that run loads exactly that object — not the object that
  was already in the prefix. The same notification sent once more (SQS delivers at least once) starts
  another run, which loads nothing twice.
* after: a run of retail__products (the catalogue) updates its table's Asset, and retail__online_sales
  (`after: [products]`) runs by itself afterwards, as an asset-triggered run.
"""

from __future__ import annotations

import json
import time

import psycopg2
import pytest

from conftest import copy_config_tree
from e2e.helpers import open_table
from isolation.stack import Stack, drop_database, fresh_database
from yaml_edits import edit

pytestmark = pytest.mark.e2e

DAG_IDS = ("healthcare__partner_lab_results", "retail__products", "retail__online_sales")
BUCKET, QUEUE = "acme-healthcare-e2e-drop", "healthcare-e2e-arrivals"
LAB_ROWS = [{"result_id": 9001 + i, "patient_id": 17, "test_code": "LDL", "value": 2.5 + i, "unit": "mmol/L",
             "collected_at": "2026-12-04T08:00:00"} for i in range(3)]
EARLIER_ROWS = [{"result_id": 1, "patient_id": 1, "test_code": "GLU", "value": 5.0, "unit": "mmol/L",
                 "collected_at": "2026-12-01T08:00:00"}]


def ndjson(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
def aws(moto_endpoint):
    """The tenant's bucket (with one object from before) whose notifications go to the tenant's queue."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="results/earlier.json", Body=ndjson(EARLIER_ROWS))  # before notifications
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "results/"}]}}}]})
    sqs.purge_queue(QueueUrl=url)  # S3's s3:TestEvent of the configuration
    return s3, sqs, url


def _runs(conn, dag_id: str) -> list[tuple[str, str, str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = %s ORDER BY id", (dag_id,))
        return cur.fetchall()


def _wait(conn, stack: Stack, what: str, until, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := until():
            return result
        time.sleep(2)
    runs = {d: _runs(conn, d) for d in DAG_IDS}
    raise AssertionError(f"{what} within {timeout:.0f}s; runs: {runs}\nscheduler:\n{stack.log_tail('scheduler')}"
                         f"\ntriggerer:\n{stack.log_tail('triggerer')}")


def test_a_dropped_file_starts_its_run_and_an_after_pipeline_follows_its_upstream(tmp_path, aws, moto_endpoint):
    from demo.data import generate_demo_data

    s3, sqs, queue_url = aws
    copy_config_tree(tmp_path)
    configs = tmp_path / "tenant_configs"
    lab = configs / "healthcare" / "pipelines" / "partner_lab_results.yaml"
    edit(lab, "https://sqs.us-east-1.amazonaws.com/123456789012/healthcare-lab-arrivals", queue_url)
    edit(lab, "poll_seconds: 20", "poll_seconds: 1")
    edit(lab, "s3://acme-healthcare-lab-drop/", f"s3://{BUCKET}/")
    home = tmp_path / "home"
    generate_demo_data(home, scale=0.01)  # retail's product catalogue and sales files
    db = fresh_database("events")
    connection = json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                             "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}})
    stack = Stack(tmp_path / "stack", db, TENANTFLOW_CONFIG_DIR=str(configs), TENANTFLOW_HOME=str(home),
                  AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"),
                  TENANTFLOW_DAGS_DIR=str(tmp_path / "dags" / "tenants"),
                  AIRFLOW_CONN_HEALTHCARE__LAB_DROP=connection, AIRFLOW__CORE__PARALLELISM="6",
                  AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True")  # else the scheduler makes no asset-triggered runs
    conn = None
    try:
        stack.migrate_sync_parse()
        for dag_id in DAG_IDS:
            stack.cli("airflow", "dags", "unpause", dag_id)
        stack.cli("airflow", "dags", "reserialize")  # the watcher of an unpaused DAG's Asset is registered
        stack.start_api_server()
        stack.start("scheduler", "scheduler")
        stack.start("triggerer", "triggerer")
        conn = psycopg2.connect(db.replace("postgresql+psycopg2://", "postgresql://"))
        conn.autocommit = True

        started = time.monotonic()
        s3.put_object(Bucket=BUCKET, Key="results/2026-12-04 ldl.json", Body=ndjson(LAB_ROWS))
        stack.cli("airflow", "dags", "trigger", "retail__products")

        def lab_runs(n: int):
            runs = [r for r in _runs(conn, "healthcare__partner_lab_results") if r[2] == "success"]
            failed = [r for r in _runs(conn, "healthcare__partner_lab_results") if r[2] == "failed"]
            assert not failed, f"{failed}\n{stack.log_tail('scheduler')}"
            return runs if len(runs) >= n else None

        (first,) = _wait(conn, stack, "no successful run started by the dropped file", lambda: lab_runs(1))
        first_run_s = time.monotonic() - started
        assert first[1] == "asset_triggered", first
        table = open_table("healthcare.partner_lab_results", str(home))
        assert sorted(table.scan().to_arrow().column("result_id").to_pylist()) == [9001, 9002, 9003], \
            "exactly the new object loads (earlier.json was never notified)"

        # the same notification again, as SQS may deliver it: a run, and nothing loaded twice
        key = "results/2026-12-04+ldl.json"
        body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "eventSource": "aws:s3",
                                        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}}}]})
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        def online_sales_run():
            runs = _runs(conn, "retail__online_sales")
            return [r for r in runs if r[1] == "asset_triggered" and r[2] == "success"] or None

        (after_run, *_) = _wait(conn, stack, "no asset-triggered retail__online_sales run after products",
                                online_sales_run)
        assert [r[2] for r in _runs(conn, "retail__products")] == ["success"]
        assert open_table("retail.online_sales", str(home)).scan().to_arrow().num_rows > 0

        runs = _wait(conn, stack, "no second run for the duplicate notification", lambda: lab_runs(2))
        assert runs[1][1] == "asset_triggered"
        table = open_table("healthcare.partner_lab_results", str(home))
        assert sorted(table.scan().to_arrow().column("result_id").to_pylist()) == [9001, 9002, 9003], \
            "the duplicate notification loaded nothing twice"
        print(f"\nfile arrival -> first run succeeded in {first_run_s:.0f}s")  # noqa: T201 - for the report
    finally:
        if conn is not None:
            conn.close()
        stack.stop()
        drop_database(db)
