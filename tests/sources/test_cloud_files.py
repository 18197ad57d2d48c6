"""Files sources on gs:// (gcp-storage-emulator) and az:// / abfs:// (azurite), through the real stages.

Extract (the tenant's own connection, fsspec), land and the Iceberg load run in-process on a fresh
tenantflow home: each object is loaded exactly once (its full URI is its identity in the load state), a
new object loads alone, and another tenant's bucket, container or connection is refused.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloud_emulators import azurite_connection_string
from tenantflow.config import load_tenant
from tenantflow.config.models import FilesSource, PipelineConfig
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.pipeline_context import PipelineContext
from tenantflow.sources.cloud_files import CloudFilesError
from tenantflow.sources.file_formats import SourceFileError
from tenantflow.sources.files import FilesSourceHook

REPO = Path(__file__).resolve().parents[2]
GCS_BUCKET = "acme-retail-gcs-drops"
AZ_CONTAINER = "retail-az-drops"


def parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def gcs(gcs_endpoint):
    """The tenant's GCS bucket (an anonymous client of the emulator writes the objects)."""
    from gcsfs.core import GCSFileSystem

    fs = GCSFileSystem(token="anon", endpoint_url=gcs_endpoint, project="tenantflow-tests", skip_instance_cache=True)
    fs.mkdir(GCS_BUCKET)
    fs.mkdir("acme-finance-gcs-drops")
    fs.pipe(f"{GCS_BUCKET}/sales/2026-11-01.csv", b"sale_id,qty\n1,2\n2,5\n")
    fs.pipe(f"{GCS_BUCKET}/sales/2026-11-02.csv.gz", gzip.compress(b"sale_id,qty\n3,1\n"))
    fs.pipe(f"{GCS_BUCKET}/sales/readme.txt", b"not data")
    fs.pipe(f"{GCS_BUCKET}/prices/p.parquet", parquet([{"sku": "A", "price": 1.5}]))
    return SimpleNamespace(fs=fs, endpoint=gcs_endpoint)


@pytest.fixture(scope="module")
def azure(azurite_endpoint):
    """The tenant's Azure container, written with the development account's key."""
    from adlfs import AzureBlobFileSystem

    fs = AzureBlobFileSystem(connection_string=azurite_connection_string(azurite_endpoint), skip_instance_cache=True)
    fs.mkdir(AZ_CONTAINER)
    fs.mkdir("finance-az-drops")
    fs.pipe(f"{AZ_CONTAINER}/orders/2026-11-01.parquet", parquet([{"order_id": 1, "amount": 9.5},
                                                                  {"order_id": 2, "amount": 3.0}]))
    fs.pipe(f"{AZ_CONTAINER}/orders/2026-11-02.parquet", parquet([{"order_id": 3, "amount": 1.25}]))
    fs.pipe(f"{AZ_CONTAINER}/csv/a.csv.gz", gzip.compress(b"id,name\n1,x\n"))
    return SimpleNamespace(fs=fs, endpoint=azurite_endpoint)


def _connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def gcs_connection(gcs, monkeypatch):
    _connection(monkeypatch, "retail__gcs", conn_type="google_cloud_platform",
                extra={"token": "anon", "endpoint_url": gcs.endpoint, "project": "tenantflow-tests"})
    return "retail__gcs"


@pytest.fixture
def azure_connection(azure, monkeypatch):
    account, key = azurite_connection_string(azure.endpoint).split(";")[1:3]
    _connection(monkeypatch, "retail__blob", conn_type="wasb", login=account.removeprefix("AccountName="),
                password=key.removeprefix("AccountKey="), extra={"endpoint_url": azure.endpoint})
    return "retail__blob"


def context(home: Path, path: str, fmt: str, connection_id: str, tenant: str = "retail") -> PipelineContext:
    bundle = load_tenant(REPO / "tenant_configs", tenant)
    pipeline = PipelineConfig.model_validate({
        "id": "cloud_drops", "source": {"kind": "files", "path": path, "format": fmt, "connection_id": connection_id},
        "target": {"table": "cloud_drops", "mode": "append"}})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(home))


def run(ctx: PipelineContext, run_id: str) -> tuple[dict, dict]:
    """extract → land → load of one run, as the DAG's tasks do it (XCom handed over by hand)."""
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator

    extracted = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute({"run_id": run_id})
    ti = SimpleNamespace(xcom_pull=lambda task_ids: extracted)
    LandOperator(task_id="land", extract_task_id="extract", pipeline_ctx=ctx).execute({"run_id": run_id, "ti": ti})
    loaded = IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute({"run_id": run_id})
    return extracted, loaded


def table_rows(ctx: PipelineContext) -> list[dict]:
    from tenantflow.catalog.hook import IcebergHook

    table = IcebergHook(ctx).table()
    return [] if table is None else sorted(table.scan().to_arrow().to_pylist(), key=lambda r: list(r.values()))


def test_gcs_csv_objects_load_once_and_a_new_object_loads_alone(tmp_path, gcs, gcs_connection):
    ctx = context(tmp_path, f"gs://{GCS_BUCKET}/sales/*.csv*", "csv", gcs_connection)
    first, _ = run(ctx, "manual__1")
    assert first["source_files"] == [f"gs://{GCS_BUCKET}/sales/2026-11-01.csv",
                                     f"gs://{GCS_BUCKET}/sales/2026-11-02.csv.gz"], "the full URIs, .txt not matched"
    assert table_rows(ctx) == [{"sale_id": 1, "qty": 2}, {"sale_id": 2, "qty": 5}, {"sale_id": 3, "qty": 1}]

    second, _ = run(ctx, "manual__2")
    assert (second["rows"], second["source_files"]) == (0, []), "nothing new: nothing read"
    assert len(table_rows(ctx)) == 3

    gcs.fs.pipe(f"{GCS_BUCKET}/sales/2026-11-03.csv", b"sale_id,qty\n4,7\n")
    try:
        third, _ = run(ctx, "manual__3")
    finally:
        gcs.fs.rm(f"{GCS_BUCKET}/sales/2026-11-03.csv")
    assert third["source_files"] == [f"gs://{GCS_BUCKET}/sales/2026-11-03.csv"]
    assert table_rows(ctx)[-1] == {"sale_id": 4, "qty": 7} and len(table_rows(ctx)) == 4


def test_azure_parquet_objects_load_once(tmp_path, azure, azure_connection):
    ctx = context(tmp_path, f"az://{AZ_CONTAINER}/orders/*.parquet", "parquet", azure_connection)
    first, _ = run(ctx, "manual__1")
    assert first["source_files"] == [f"az://{AZ_CONTAINER}/orders/2026-11-01.parquet",
                                     f"az://{AZ_CONTAINER}/orders/2026-11-02.parquet"]
    assert table_rows(ctx) == [{"order_id": 1, "amount": 9.5}, {"order_id": 2, "amount": 3.0},
                               {"order_id": 3, "amount": 1.25}]
    assert run(ctx, "manual__2")[0]["source_files"] == []

    azure.fs.pipe(f"{AZ_CONTAINER}/orders/2026-11-03.parquet", parquet([{"order_id": 4, "amount": 2.0}]))
    try:
        third, _ = run(ctx, "manual__3")
    finally:
        azure.fs.rm(f"{AZ_CONTAINER}/orders/2026-11-03.parquet")
    assert third["source_files"] == [f"az://{AZ_CONTAINER}/orders/2026-11-03.parquet"]
    assert len(table_rows(ctx)) == 4


def test_abfs_with_a_connection_string_reads_compressed_csv(azure, monkeypatch):
    _connection(monkeypatch, "retail__blob_cs", conn_type="wasb",
                extra={"connection_string": azurite_connection_string(azure.endpoint)})
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__blob_cs")
    source = FilesSource(kind="files", path=f"abfs://{AZ_CONTAINER}/csv/*.csv.gz", format="csv",
                         connection_id="retail__blob_cs")
    assert hook.list(source.path) == [f"abfs://{AZ_CONTAINER}/csv/a.csv.gz"]
    assert pa.concat_tables(hook.read(source.path, source)).to_pylist() == [{"id": 1, "name": "x"}]


def test_gcs_parquet_through_the_hook(gcs, gcs_connection):
    hook = FilesSourceHook(tenant_id="retail", connection_id=gcs_connection)
    source = FilesSource(kind="files", path=f"gs://{GCS_BUCKET}/prices/*.parquet", format="parquet",
                         connection_id=gcs_connection)
    assert pa.concat_tables(hook.read(source.path, source)).to_pylist() == [{"sku": "A", "price": 1.5}]


@pytest.mark.parametrize(("path", "store"), [("gs://acme-retail-missing/sales/*.csv", "GCS bucket"),
                                              ("az://retail-missing/sales/*.csv", "Azure Blob container")])
def test_a_missing_bucket_or_container_is_a_clear_error(request, path, store):
    conn_id = request.getfixturevalue("gcs_connection" if path.startswith("gs") else "azure_connection")
    hook = FilesSourceHook(tenant_id="retail", connection_id=conn_id)
    bucket = path.split("/")[2]
    with pytest.raises(CloudFilesError, match=f"{store} '{bucket}' does not exist \\(as seen with connection "
                                              f"'{conn_id}'\\); create it, or fix source.path"):
        hook.list(path)


def test_no_matching_object_is_the_files_sources_error(gcs, gcs_connection):
    hook = FilesSourceHook(tenant_id="retail", connection_id=gcs_connection)
    with pytest.raises(SourceFileError, match=f"no files match 'gs://{GCS_BUCKET}/none/\\*.csv'"):
        hook.list(f"gs://{GCS_BUCKET}/none/*.csv")


@pytest.mark.parametrize("path", ["gs://acme-finance-gcs-drops/sales/*.csv", "az://finance-az-drops/orders/*.parquet"])
def test_another_tenants_bucket_or_container_is_refused_at_run_time(tmp_path, request, path):
    conn_id = request.getfixturevalue("gcs_connection" if path.startswith("gs") else "azure_connection")
    # a config that never went through the loader's ownership check
    ctx = context(tmp_path, path, "csv" if path.endswith(".csv") else "parquet", conn_id)
    with pytest.raises(TenantIsolationError, match=re.escape(f"tenant 'retail' may not read '{path}': '{path}' "
                                                             "points at tenant 'finance'")):
        run(ctx, "manual__1")
    assert table_rows(ctx) == []


@pytest.mark.parametrize("path", ["gs://acme-retail-gcs-drops/sales/*.csv", "az://retail-az-drops/orders/*.parquet"])
def test_another_tenants_connection_is_refused(path):
    with pytest.raises(TenantIsolationError, match="tenant 'retail' may not use connection 'finance__drops'"):
        FilesSourceHook(tenant_id="retail", connection_id="finance__drops")
    from tenantflow.sources.cloud_files import cloud_files_hook

    with pytest.raises(TenantIsolationError, match="finance__drops"):
        cloud_files_hook(path, "retail", "finance__drops")


def test_a_connection_of_the_wrong_type_says_which_type(gcs, monkeypatch):
    _connection(monkeypatch, "retail__wrong", conn_type="aws", login="x", password="y")
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__wrong")
    with pytest.raises(CloudFilesError, match="has type 'aws'; GCS paths need a 'google_cloud_platform' connection"):
        hook.list(f"gs://{GCS_BUCKET}/sales/*.csv")


KEYFILE = {"type": "service_account", "project_id": "acme", "client_email": "drops@acme.iam.gserviceaccount.com"}


@pytest.mark.parametrize(("conn", "expected"), [
    ({"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(KEYFILE), "project": "acme"}},
     {"token": KEYFILE, "project": "acme"}),
    ({"conn_type": "google_cloud_platform", "extra": {"extra__google_cloud_platform__key_path": "/keys/sa.json"}},
     {"token": "/keys/sa.json"}),
    ({"conn_type": "google_cloud_platform"}, {}),  # the workers' own Google credentials (metadata server, ADC)
], ids=["keyfile_dict", "key_path (old prefixed extra)", "environment"])
def test_gcs_credentials_come_from_the_connection(monkeypatch, conn, expected):
    import gcsfs.core

    made: list[dict] = []
    monkeypatch.setattr(gcsfs.core, "GCSFileSystem", lambda **options: made.append(options) or object())
    _connection(monkeypatch, "retail__gcs_creds", **conn)
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__gcs_creds").cloud_hook("gs://acme-retail/x/*.csv")
    assert hook.fsspec is not None
    (options,) = made
    assert {k: v for k, v in options.items() if k in ("token", "project")} == expected


@pytest.mark.parametrize(("conn", "expected"), [
    ({"conn_type": "wasb", "login": "acmeretail", "password": "k3y"}, {"account_name": "acmeretail",
                                                                       "account_key": "k3y"}),
    ({"conn_type": "wasb", "login": "acmeretail", "extra": {"sas_token": "sv=2026"}},
     {"account_name": "acmeretail", "sas_token": "sv=2026"}),
    ({"conn_type": "wasb", "login": "acmeretail"}, {"account_name": "acmeretail", "anon": False}),
], ids=["account key", "sas token", "default credential"])
def test_azure_credentials_come_from_the_connection(monkeypatch, conn, expected):
    import adlfs

    made: list[dict] = []
    monkeypatch.setattr(adlfs, "AzureBlobFileSystem", lambda **options: made.append(options) or object())
    _connection(monkeypatch, "retail__blob_creds", **conn)
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__blob_creds").cloud_hook("az://retail/x/*.csv")
    assert hook.fsspec is not None
    (options,) = made
    assert {k: v for k, v in options.items() if k not in ("skip_instance_cache", "use_listings_cache")} == expected


def test_an_azure_connection_without_an_account_says_what_to_set(monkeypatch):
    _connection(monkeypatch, "retail__blob_empty", conn_type="wasb")
    hook = FilesSourceHook(tenant_id="retail", connection_id="retail__blob_empty")
    with pytest.raises(CloudFilesError, match="names no storage account: set its login"):
        hook.list("az://retail/x/*.csv")
