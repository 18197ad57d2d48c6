"""File sources on s3:// (moto server) read through the tenant's own AWS connection."""

from __future__ import annotations

import gzip
import io
import json

import fastavro
import pyarrow as pa
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.connectors.bad_rows import BadRows
from tenantflow.hooks.files_source import FilesSourceHook
from tenantflow.hooks.guards import TenantIsolationError


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
