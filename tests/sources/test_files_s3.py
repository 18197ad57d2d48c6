"""File sources on s3:// (moto server) read through the tenant's own AWS connection."""

from __future__ import annotations

import gzip
import io
import json

import fastavro
import pyarrow as pa
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.files import FilesSourceHook


@pytest.fixture(scope="module")
def bucket(moto_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="acme-retail-drops")
    s3.put_object(Bucket="acme-retail-drops", Key="sales/2026-11-01.csv.gz",
                  Body=gzip.compress(b"sale_id,qty\n1,2\n2,x\n3,4\n"))
    s3.put_object(Bucket="acme-retail-drops", Key="sales/2026-11-02.csv.gz", Body=gzip.compress(b"sale_id,qty\n4,1\n"))
    s3.put_object(Bucket="acme-retail-drops", Key="sales/readme.txt", Body=b"not data")
    avro = io.BytesIO()
    schema = {"type": "record", "name": "P", "fields": [{"name": "sku", "type": "string"},
                                                        {"name": "price", "type": "double"}]}
    fastavro.writer(avro, schema, [{"sku": "A", "price": 1.5}, {"sku": "B", "price": 2.0}], codec="deflate")
    s3.put_object(Bucket="acme-retail-drops", Key="products/p.avro", Body=avro.getvalue())
    return moto_endpoint


@pytest.fixture
def connection(bucket, monkeypatch):
    extra = json.dumps({"endpoint_url": bucket, "region_name": "us-east-1"})
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__DROPS",
                       json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}))
    return FilesSourceHook(tenant_id="retail", connection_id="retail__drops")


def test_s3_glob_compressed_csv_with_rejects(connection):
    source = FilesSource(kind="files", path="s3://acme-retail-drops/sales/*.csv.gz", format="csv",
                         connection_id="retail__drops", column_types={"qty": "int64"}, on_bad_rows="reject")
    files = connection.list(source.path)
    assert files == ["s3://acme-retail-drops/sales/2026-11-01.csv.gz", "s3://acme-retail-drops/sales/2026-11-02.csv.gz"]
    bad = BadRows("reject")
    table = pa.concat_tables(list(connection.read(source.path, source, files, bad)))
    assert table.to_pydict() == {"sale_id": [1, 3, 4], "qty": [2, 4, 1]}
    assert [(r.file, r.row, r.column, r.raw) for r in bad.rows] == [
        ("s3://acme-retail-drops/sales/2026-11-01.csv.gz", 2, "qty", "x")]


def test_s3_avro(connection):
    source = FilesSource(kind="files", path="s3://acme-retail-drops/products/*.avro", format="avro",
                         connection_id="retail__drops")
    table = pa.concat_tables(list(connection.read(source.path, source)))
    assert table.to_pylist() == [{"sku": "A", "price": 1.5}, {"sku": "B", "price": 2.0}]


def test_another_tenants_connection_is_refused():
    with pytest.raises(TenantIsolationError, match="finance__drops"):
        FilesSourceHook(tenant_id="retail", connection_id="finance__drops")


def _connection(monkeypatch, conn_id: str, endpoint: str, **extra) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1", **extra}}))


def test_key_and_secret_connection_reads_with_those_keys(bucket, monkeypatch):
    _connection(monkeypatch, "retail__drops_keys", bucket)
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__drops_keys")
    options = hook.s3_options
    assert (options["access_key"], options["secret_key"], options["region"]) == ("testing", "testing", "us-east-1")
    assert "session_token" not in options, "long-lived keys carry no session token"
    assert options["endpoint_override"] == bucket.removeprefix("http://") and options["scheme"] == "http"
    assert hook.list("s3://acme-retail-drops/products/*.avro") == ["s3://acme-retail-drops/products/p.avro"]


def test_role_arn_connection_assumes_the_role_and_reads_with_its_session_token(bucket, monkeypatch):
    import boto3

    role = "arn:aws:iam::123456789012:role/retail-drops-reader"
    # the STS endpoint of assume-role is service_config.sts (AwsBaseHook never sends it to endpoint_url)
    _connection(monkeypatch, "retail__drops_role", bucket, role_arn=role,
                assume_role_kwargs={"RoleSessionName": "tenantflow-retail"},
                service_config={"sts": {"endpoint_url": bucket}})
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__drops_role")
    options = hook.s3_options
    assert options["session_token"], "temporary credentials of the assumed role carry a session token"
    assert options["access_key"].startswith("ASIA") and options["access_key"] != "testing"

    # the keys are the role's: STS says who they are
    sts = boto3.client("sts", endpoint_url=bucket, region_name="us-east-1", aws_access_key_id=options["access_key"],
                       aws_secret_access_key=options["secret_key"], aws_session_token=options["session_token"])
    identity = sts.get_caller_identity()["Arn"]
    assert identity == "arn:aws:sts::123456789012:assumed-role/retail-drops-reader/tenantflow-retail"
    # ...and pyarrow's filesystem is built with them, session token included
    rebuilt = hook.s3_filesystem().__reduce__()[1][0]
    assert (rebuilt["access_key"], rebuilt["session_token"]) == (options["access_key"], options["session_token"])

    source = FilesSource(kind="files", path="s3://acme-retail-drops/products/*.avro", format="avro",
                         connection_id="retail__drops_role")
    table = pa.concat_tables(list(hook.read(source.path, source)))
    assert table.to_pylist() == [{"sku": "A", "price": 1.5}, {"sku": "B", "price": 2.0}]


def test_no_connection_uses_the_environments_chain_never_the_platform_connection(bucket, monkeypatch):
    # a platform aws_default exists, with keys a tenant must never borrow
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "login": "PLATFORM",
                                                               "password": "platform-secret"}))
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket)
    hook = FilesSourceHook(tenant_id="retail")
    assert hook.aws_conn_id is None
    assert hook.s3_options["access_key"] == "testing", "AWS_ACCESS_KEY_ID of the environment, not aws_default"
    assert hook.list("s3://acme-retail-drops/sales/*.csv.gz")[0] == "s3://acme-retail-drops/sales/2026-11-01.csv.gz"
