"""Landing writable (local and moto S3: a probe written and deleted) and the catalog namespace present."""

from __future__ import annotations

import pytest
from doctor_tree import bundle, sql_source

from tenantflow.doctor.checks import catalog_check, landing_check
from tenantflow.doctor.result import Status

PIPELINES = {"orders": sql_source("acme__erp")}


def test_local_landing_is_probed_and_left_as_it_was(tmp_path):
    home = tmp_path / "home"
    result = landing_check(bundle(tmp_path, PIPELINES), str(home))
    assert (result.status, result.subject) == (Status.OK, str(home / "landing" / "acme"))
    assert list((home / "landing" / "acme").iterdir()) == [], "the probe and its folder are deleted"


def test_local_landing_that_cannot_be_written_fails_with_a_hint(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "landing").write_text("a file where the landing folder should be")
    result = landing_check(bundle(tmp_path, PIPELINES), str(home))
    assert result.status == Status.FAIL and "cannot write and delete a probe object" in result.detail
    assert result.hint.startswith(f"create {home / 'landing' / 'acme'} and make it writable")


@pytest.fixture(scope="module")
def landing_bucket(moto_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-doctor-landing")
    return client


def test_s3_landing_probe_is_written_and_deleted(tmp_path, monkeypatch, moto_endpoint, landing_bucket):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    b = bundle(tmp_path, PIPELINES, storage={"landing": "s3://acme-doctor-landing/raw"})
    result = landing_check(b, str(tmp_path / "home"))
    assert result.status == Status.OK, result
    assert landing_bucket.list_objects_v2(Bucket="acme-doctor-landing").get("KeyCount") == 0


def test_s3_landing_in_a_missing_bucket_fails(tmp_path, monkeypatch, moto_endpoint, landing_bucket):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    b = bundle(tmp_path, PIPELINES, storage={"landing": "s3://acme-doctor-nolanding/raw"})
    result = landing_check(b, str(tmp_path / "home"))
    assert result.status == Status.FAIL and "cannot write and delete a probe object" in result.detail
    assert "needs s3:PutObject and s3:DeleteObject under s3://acme-doctor-nolanding/raw" in result.hint


def test_catalog_namespace_missing_warns_until_created(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    home, b = str(tmp_path / "home"), bundle(tmp_path, PIPELINES)
    missing = catalog_check(b, home)
    assert (missing.status, missing.subject) == (Status.WARN, "local:acme")
    assert missing.hint.startswith("`tenantflow sync` creates it")
    open_catalog("local", b.platform.catalogs["local"], home, tenant_id="acme").create_namespace("acme")
    present = catalog_check(b, home)
    assert (present.status, present.detail) == (Status.OK, "namespace 'acme' exists")
