"""The landing store's S3 identity: the platform's landing `aws` connection, else the environment's chain."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tenantflow.identity import PLATFORM_AWS_CONN_ID as LANDING_AWS_CONN_ID
from tenantflow.landing import s3 as landing_s3_module
from tenantflow.landing.batch import BatchLocation
from tenantflow.landing.storage import filesystem
from tenantflow.landing.store import LandingHook


@pytest.fixture
def bucket(moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setattr(landing_s3_module, "_HOOKS", {})  # each test resolves its connection afresh
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-platform-landing")
    return moto_endpoint


def test_the_landing_connection_gives_endpoint_region_and_keys(bucket, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv(f"AIRFLOW_CONN_{LANDING_AWS_CONN_ID.upper()}", json.dumps({
        "conn_type": "aws", "login": "landing-key", "password": "landing-secret",
        "extra": {"endpoint_url": bucket, "region_name": "eu-west-1"}}))
    options = landing_s3_module.landing_s3(LANDING_AWS_CONN_ID).options()
    assert (options["access_key"], options["secret_key"]) == ("landing-key", "landing-secret")
    assert options["region"] == "eu-west-1" and options["endpoint_override"] == bucket.removeprefix("http://")

    hook = LandingHook(BatchLocation("s3://acme-platform-landing/raw", "orders", "manual__conn-1"))
    staged = hook.stage(iter([pa.table({"id": [1, 2]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    assert sorted(hook.read()["id"].to_pylist()) == [1, 2], "written and read through the connection's endpoint"


def test_a_missing_landing_connection_falls_back_to_the_environment(bucket, monkeypatch):
    monkeypatch.delenv(f"AIRFLOW_CONN_{LANDING_AWS_CONN_ID.upper()}", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket)
    hook = landing_s3_module.landing_s3(LANDING_AWS_CONN_ID)
    options = hook.options()
    assert hook.conn_config.conn_type is None and hook.conn_config.aws_access_key_id is None, "an empty connection"
    assert (options["access_key"], options["region"]) == ("testing", "us-east-1")  # AWS_* variables of the test env
    fs, path = filesystem("s3://acme-platform-landing/")
    assert path == "acme-platform-landing/" and fs.get_file_info(path).type.name == "Directory"


def test_the_connection_id_is_a_parameter(bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket)
    monkeypatch.setenv("AIRFLOW_CONN_LANDING_EU", json.dumps({"conn_type": "aws", "login": "eu-key",
                                                              "password": "eu-secret"}))
    fs, _ = filesystem("s3://acme-platform-landing/x", aws_conn_id="landing_eu")
    assert landing_s3_module.landing_s3("landing_eu").options()["access_key"] == "eu-key"
    assert landing_s3_module.landing_s3(LANDING_AWS_CONN_ID).options()["access_key"] == "testing"
    assert fs.get_file_info("acme-platform-landing/x").type.name == "NotFound"


def test_local_landing_never_builds_an_aws_hook(tmp_path, monkeypatch):
    monkeypatch.setattr(landing_s3_module, "_HOOKS", {})
    hook = LandingHook(BatchLocation(str(tmp_path / "landing"), "orders", "manual__local-1"))
    staged = hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    assert landing_s3_module._HOOKS == {}


def test_explicit_s3_options_are_another_identity_than_the_landing_store(bucket, monkeypatch):
    """A table's FileIO (orphan-file removal) reads S3 with its own options, not the landing connection."""
    from types import SimpleNamespace

    from tenantflow.maintenance.orphans import table_filesystem

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    table = SimpleNamespace(
        io=SimpleNamespace(properties={"s3.endpoint": bucket, "s3.region": "us-east-1",
                                       "s3.access-key-id": "table-key", "s3.secret-access-key": "table-secret"}),
        location=lambda: "s3://acme-platform-landing/warehouse/t")
    fs, root = table_filesystem(table)
    assert root == "acme-platform-landing/warehouse/t"
    assert fs.__reduce__()[1][0]["access_key"] == "table-key"
    assert fs.get_file_info("acme-platform-landing").type.name == "Directory"
    assert landing_s3_module._HOOKS == {}, "the landing hook was not consulted"
