"""The doctor's files probe on gs:// (gcp-storage-emulator) and az:// (azurite): bucket/container, prefix, matches."""

from __future__ import annotations

import json

import pytest
from doctor_tree import bundle, files_source

from cloud_emulators import azurite_connection_string
from tenantflow.doctor.checks import run_checks
from tenantflow.doctor.result import Status


@pytest.fixture(scope="module")
def stores(gcs_endpoint, azurite_endpoint):
    from adlfs import AzureBlobFileSystem
    from gcsfs.core import GCSFileSystem

    gcs = GCSFileSystem(token="anon", endpoint_url=gcs_endpoint, project="tenantflow-tests", skip_instance_cache=True)
    gcs.mkdir("acme-doctor-gcs")
    gcs.pipe("acme-doctor-gcs/sales/2026-11-01.csv", b"id\n1\n")
    gcs.pipe("acme-doctor-gcs/sales/2026-11-02.csv", b"id\n2\n")
    azure = AzureBlobFileSystem(connection_string=azurite_connection_string(azurite_endpoint), skip_instance_cache=True)
    azure.mkdir("acme-doctor-az")
    azure.pipe("acme-doctor-az/orders/o.csv", b"id\n1\n")
    return gcs_endpoint, azurite_endpoint


def test_gcs_and_azure_paths_are_probed_through_the_tenants_connections(tmp_path, monkeypatch, stores):
    gcs_endpoint, azurite_endpoint = stores
    monkeypatch.setenv("AIRFLOW_CONN_ACME__GCS", json.dumps({
        "conn_type": "google_cloud_platform",
        "extra": {"token": "anon", "endpoint_url": gcs_endpoint, "project": "tenantflow-tests"}}))
    monkeypatch.setenv("AIRFLOW_CONN_ACME__BLOB", json.dumps({
        "conn_type": "wasb", "extra": {"connection_string": azurite_connection_string(azurite_endpoint)}}))
    b = bundle(tmp_path, {
        "sales": files_source("gs://acme-doctor-gcs/sales/*.csv", "acme__gcs"),
        "returns": files_source("gs://acme-doctor-gcs/returns/*.csv", "acme__gcs"),
        "gone": files_source("gs://acme-doctor-nobucket/sales/*.csv", "acme__gcs"),
        "orders": files_source("az://acme-doctor-az/orders/*.csv", "acme__blob"),
        "lost": files_source("abfs://acme-doctor-nocontainer/orders/*.csv", "acme__blob"),
    })
    report = run_checks(b, str(tmp_path / "home"), timeout=5)
    by_pipeline = {r.pipelines: r for r in report.results if r.check == "source"}

    sales = by_pipeline[("sales",)]
    assert sales.status == Status.OK
    assert sales.detail.endswith("gs://acme-doctor-gcs/sales/ is listable, 2 object(s) match")
    returns = by_pipeline[("returns",)]
    assert returns.status == Status.WARN
    assert "no object matches gs://acme-doctor-gcs/returns/*.csv yet" in returns.detail
    gone = by_pipeline[("gone",)]
    assert gone.status == Status.FAIL
    assert gone.detail.endswith("GCS bucket 'acme-doctor-nobucket' does not exist "
                                "(as seen with connection 'acme__gcs')")
    assert "create it, or fix source.path" in gone.hint
    orders = by_pipeline[("orders",)]
    assert orders.status == Status.OK
    assert orders.detail.endswith("az://acme-doctor-az/orders/ is listable, 1 object(s) match")
    lost = by_pipeline[("lost",)]
    assert lost.status == Status.FAIL and "Azure Blob container 'acme-doctor-nocontainer' does not exist" in lost.detail
    assert "AccountKey" not in repr(report)


def test_a_missing_cloud_connection_says_which_type_to_create(tmp_path):
    report = run_checks(bundle(tmp_path, {"sales": files_source("gs://acme-doctor-gcs/sales/*.csv", "acme__nogcs")}),
                        str(tmp_path / "home"))
    (line,) = [r for r in report.results if r.subject == "acme__nogcs"]
    assert line.status == Status.FAIL and "google_cloud_platform, extra keyfile_dict or key_path" in line.hint
