"""A file-arrival run loads exactly the objects its S3 event notifications name.

The triggering events are built with the Task SDK's own accessor (``TriggeringAssetEventsAccessor``), as a
task's context carries them; the S3 notification bodies have the shape S3 sends (URL-encoded keys,
``s3:TestEvent``, SNS envelopes). Reading goes through the tenant's connection to moto S3.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.isolation.asset_events import TriggeringEvent, triggering_events
from tenantflow.sources.arrivals import arrived_objects, source_prefix
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.base import ExtractRequest
from tenantflow.sources.files import FilesSourceHook

ARRIVAL_URI = "x-file-arrival://healthcare/partner_lab_results"
PATTERN = "s3://acme-healthcare-lab-drop/results/*.json"


def s3_notification(*keys: str, bucket: str = "acme-healthcare-lab-drop", event: str = "ObjectCreated:Put") -> str:
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": event,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": key, "size": 10, "sequencer": "0055AED6DCD90281E5"}}} for key in keys]})


def arrival_event(*bodies: str, uri: str = ARRIVAL_URI, **extra) -> TriggeringEvent:
    messages = [{"MessageId": str(i), "ReceiptHandle": "r", "Body": body} for i, body in enumerate(bodies)]
    return TriggeringEvent("healthcare__partner_lab_results__file_arrival", uri,
                           {"from_trigger": True, "payload": {"status": "success", "message_batch": messages},
                            **extra}, None)


def test_the_notified_objects_in_order_once_each():
    events = [arrival_event(s3_notification("results/a.json", "results/b.json")),
              arrival_event(s3_notification("results/b.json"), s3_notification("results/c.json"))]
    arrived = arrived_objects(events, ARRIVAL_URI, PATTERN)
    assert arrived.files == tuple(f"s3://acme-healthcare-lab-drop/results/{k}.json" for k in "abc")
    assert (arrived.refused, arrived.skipped, arrived.unreadable_messages, arrived.notifications) == ((), (), 0, 4)


def test_keys_are_url_decoded():
    arrived = arrived_objects([arrival_event(s3_notification("results/lab+panel%C3%A9.json"))], ARRIVAL_URI, PATTERN)
    assert arrived.files == ("s3://acme-healthcare-lab-drop/results/lab panelé.json",)


def test_objects_outside_the_source_path_are_refused_and_markers_skipped():
    events = [arrival_event(s3_notification("results/ok.json"),
                            s3_notification("results/x.json", bucket="acme-retail-drops"),   # another bucket
                            s3_notification("other/y.json"),                                 # another prefix
                            s3_notification("results/../private/z.json"),                   # climbing out
                            s3_notification("results/_SUCCESS"))]                           # not the glob
    arrived = arrived_objects(events, ARRIVAL_URI, PATTERN)
    assert arrived.files == ("s3://acme-healthcare-lab-drop/results/ok.json",)
    assert arrived.refused == ("s3://acme-retail-drops/results/x.json", "s3://acme-healthcare-lab-drop/other/y.json",
                               "s3://acme-healthcare-lab-drop/results/../private/z.json")
    assert arrived.skipped == ("s3://acme-healthcare-lab-drop/results/_SUCCESS",)


def test_test_events_removals_and_garbage_load_nothing():
    events = [arrival_event(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}),
                            s3_notification("results/gone.json", event="ObjectRemoved:Delete"),
                            "not json", json.dumps({"hello": 1}))]
    arrived = arrived_objects(events, ARRIVAL_URI, PATTERN)
    assert (arrived.files, arrived.unreadable_messages) == ((), 2)


def test_an_sns_envelope_is_opened():
    envelope = json.dumps({"Type": "Notification", "MessageId": "m", "Message": s3_notification("results/s.json")})
    assert arrived_objects([arrival_event(envelope)], ARRIVAL_URI, PATTERN).files == (
        "s3://acme-healthcare-lab-drop/results/s.json",)


def test_events_of_other_assets_name_no_objects():
    other = arrival_event(s3_notification("results/a.json"), uri="x-file-arrival://healthcare/other")
    assert arrived_objects([other], ARRIVAL_URI, PATTERN).files == ()


def test_source_prefix():
    assert source_prefix(PATTERN) == "s3://acme-healthcare-lab-drop/results/"
    assert source_prefix("s3://b/x/2026-*/day?.csv") == "s3://b/x/"


def test_events_read_from_the_task_sdk_context():
    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    extra = {"from_trigger": True, "payload": {"message_batch": [{"Body": s3_notification("results/a.json")}]}}
    event = AssetEventDagRunReferenceResult(
        asset=AssetReferenceAssetEventDagRun(name="healthcare__partner_lab_results__file_arrival",
                                             uri=ARRIVAL_URI, extra={}),
        extra=extra, source_task_id=None, source_dag_id=None, source_run_id=None, source_map_index=None,
        source_aliases=[], timestamp=datetime(2026, 12, 4, tzinfo=UTC))
    context = {"triggering_asset_events": TriggeringAssetEventsAccessor.build([event])}
    (read,) = triggering_events(context)
    assert (read.asset_uri, read.source_dag_id, read.extra) == (ARRIVAL_URI, None, extra)
    assert arrived_objects([read], ARRIVAL_URI, PATTERN).files == ("s3://acme-healthcare-lab-drop/results/a.json",)
    assert triggering_events({}) == []


@pytest.fixture(scope="module")
def lab_bucket(moto_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="acme-healthcare-lab-drop")
    for name in ("old", "new", "other"):
        s3.put_object(Bucket="acme-healthcare-lab-drop", Key=f"results/{name}.json",
                      Body=json.dumps({"result_id": name}).encode() + b"\n")
    return moto_endpoint


@pytest.fixture
def hook(lab_bucket, monkeypatch):
    extra = json.dumps({"endpoint_url": lab_bucket, "region_name": "us-east-1"})
    monkeypatch.setenv("AIRFLOW_CONN_HEALTHCARE__LAB_DROP",
                       json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}))
    return FilesSourceHook(tenant_id="healthcare", connection_id="healthcare__lab_drop")


SOURCE = FilesSource(kind="files", path=PATTERN, format="json", connection_id="healthcare__lab_drop")


def _rows(read) -> list[str]:
    return pa.concat_tables(list(read.tables)).column("result_id").to_pylist() if read.source_files else []


def test_the_files_source_reads_the_notified_objects_not_the_prefix(hook):
    notified = ("s3://acme-healthcare-lab-drop/results/new.json",)
    read = hook.extract(ExtractRequest(source=SOURCE, bad_rows=BadRows("fail"), notified_files=notified,
                                       loaded_files=lambda files: set()))
    assert read.source_files == list(notified)
    assert _rows(read) == ["new"], "the other objects under results/ were not notified"


def test_a_notified_object_already_loaded_is_not_read_again(hook):
    """A duplicate notification (SQS delivers at least once) of an object an earlier run committed."""
    notified = ("s3://acme-healthcare-lab-drop/results/old.json", "s3://acme-healthcare-lab-drop/results/new.json")
    committed = {"s3://acme-healthcare-lab-drop/results/old.json"}
    read = hook.extract(ExtractRequest(source=SOURCE, bad_rows=BadRows("fail"), notified_files=notified,
                                       loaded_files=lambda files: committed & set(files)))
    assert read.source_files == ["s3://acme-healthcare-lab-drop/results/new.json"]
    assert _rows(read) == ["new"]


def test_no_notified_object_left_reads_nothing(hook):
    read = hook.extract(ExtractRequest(source=SOURCE, bad_rows=BadRows("fail"), notified_files=(),
                                       loaded_files=lambda files: set()))
    assert read.source_files == [] and list(read.tables) == []


def test_without_notifications_the_prefix_is_listed(hook):
    read = hook.extract(ExtractRequest(source=SOURCE, bad_rows=BadRows("fail"), loaded_files=lambda files: set()))
    assert sorted(_rows(read)) == ["new", "old", "other"]
