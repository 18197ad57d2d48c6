"""FileArrivalTrigger against moto: S3 event notifications reach the tenant's queue and become one event each
receive; the messages leave the queue; the trigger round-trips through serialize(); another tenant's (or the
platform's) connection is refused before anything reads it."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote_plus

import pytest

from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.triggers.file_arrival import FileArrivalTrigger


@pytest.fixture(scope="module")
def notified_bucket(moto_endpoint):
    """A bucket whose ObjectCreated notifications under results/ go to an SQS queue (moto delivers them)."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    url = sqs.create_queue(QueueName="healthcare-trigger-arrivals")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="acme-healthcare-trigger-drop")
    s3.put_bucket_notification_configuration(Bucket="acme-healthcare-trigger-drop", NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                 "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "results/"}]}}}]})
    sqs.purge_queue(QueueUrl=url)  # the s3:TestEvent of the configuration
    return s3, sqs, url


@pytest.fixture
def connection(moto_endpoint, monkeypatch):
    extra = json.dumps({"endpoint_url": moto_endpoint, "region_name": "us-east-1"})
    monkeypatch.setenv("AIRFLOW_CONN_HEALTHCARE__LAB_DROP",
                       json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}))
    return "healthcare__lab_drop"


async def _first_event(trigger: FileArrivalTrigger, timeout: float = 30):
    async def first():
        async for event in trigger.run():
            return event
    return await asyncio.wait_for(first(), timeout)


def test_a_new_object_becomes_one_event_and_leaves_the_queue(notified_bucket, connection):
    s3, sqs, url = notified_bucket
    s3.put_object(Bucket="acme-healthcare-trigger-drop", Key="results/r 1.json", Body=b'{"result_id": 1}\n')
    trigger = FileArrivalTrigger(tenant_id="healthcare", queue_url=url, aws_conn_id=connection, poll_seconds=1)
    event = asyncio.run(_first_event(trigger))
    (message,) = event.payload["message_batch"]
    (record,) = json.loads(message["Body"])["Records"]
    assert record["eventName"].startswith("ObjectCreated:")
    # keys are URL-encoded in notifications (S3: ' ' -> '+'; moto also encodes '/'): the source decodes them
    assert (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])) == (
        "acme-healthcare-trigger-drop", "results/r 1.json")
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                  "ApproximateNumberOfMessagesNotVisible"])
    assert left["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_the_trigger_round_trips_through_serialize():
    trigger = FileArrivalTrigger(tenant_id="healthcare", queue_url="http://h/123456789012/healthcare-q",
                                 aws_conn_id="healthcare__lab_drop", poll_seconds=5)
    path, kwargs = trigger.serialize()
    assert path == "tenantflow.triggers.file_arrival.FileArrivalTrigger"
    assert FileArrivalTrigger(**kwargs).serialize() == (path, kwargs)


@pytest.mark.parametrize("conn_id", ["aws_default", "retail__drops"])
def test_a_connection_not_of_the_tenant_is_refused_in_the_triggerer(conn_id):
    trigger = FileArrivalTrigger(tenant_id="healthcare", queue_url="http://h/123456789012/healthcare-q",
                                 aws_conn_id=conn_id, poll_seconds=1)
    with pytest.raises(TenantIsolationError, match=conn_id):
        asyncio.run(_first_event(trigger))
