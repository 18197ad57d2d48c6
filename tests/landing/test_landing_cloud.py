"""Landing on GCS (gcp-storage-emulator) and Azure Blob (azurite) through the platform's landing connection.

The same contract as local and S3 landing: parts staged, published with the manifest last, read back;
a damaged part is caught before anything reads it; a whole pipeline (extract → land → load) lands on
the object store and its Iceberg table equals the source; the doctor's landing probe writes and
deletes there.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cloud_emulators import azurite_connection_string
from tenantflow.config import load_tenant
from tenantflow.config.models import PipelineConfig
from tenantflow.landing.batch import BatchLocation, read_manifest
from tenantflow.landing.integrity import DamagedBatch
from tenantflow.landing.store import LandingHook
from tenantflow.pipeline_context import PipelineContext

REPO = Path(__file__).resolve().parents[2]
GCS_BUCKET = "acme-finance-landing-gcs"
AZ_CONTAINER = "finance-landing-az"


@pytest.fixture(scope="module")
def gcs_store(gcs_endpoint):
    from gcsfs.core import GCSFileSystem

    fs = GCSFileSystem(token="anon", endpoint_url=gcs_endpoint, project="tenantflow-tests", skip_instance_cache=True,
                       use_listings_cache=False)
    fs.mkdir(GCS_BUCKET)
    conn = {"conn_type": "google_cloud_platform",
            "extra": {"token": "anon", "endpoint_url": gcs_endpoint, "project": "tenantflow-tests"}}
    return SimpleNamespace(fs=fs, root=f"gs://{GCS_BUCKET}/raw", env="AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", conn=conn)


@pytest.fixture(scope="module")
def azure_store(azurite_endpoint):
    from adlfs import AzureBlobFileSystem

    connection_string = azurite_connection_string(azurite_endpoint)
    fs = AzureBlobFileSystem(connection_string=connection_string, skip_instance_cache=True,
                             use_listings_cache=False)
    fs.mkdir(AZ_CONTAINER)
    conn = {"conn_type": "wasb", "extra": {"connection_string": connection_string}}
    return SimpleNamespace(fs=fs, root=f"az://{AZ_CONTAINER}/raw", env="AIRFLOW_CONN_WASB_DEFAULT", conn=conn)


@pytest.fixture(params=["gcs", "azure"])
def store(request, monkeypatch):
    store = request.getfixturevalue(f"{request.param}_store")
    monkeypatch.setenv(store.env, json.dumps(store.conn))
    return store


def objects(store, location: str) -> list[str]:
    """Every object under ``location``, as the store itself lists it (not through tenantflow)."""
    prefix = location.partition("://")[2]
    return sorted(p.removeprefix(prefix + "/") for p in store.fs.find(prefix))


def test_a_batch_lands_with_the_manifest_last_and_reads_back(store, request):
    location = BatchLocation(store.root, "orders", f"manual__{request.node.name}")
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1, 2], "v": ["a", "b"]}), pa.table({"id": [3], "v": [None]})]),
                        cursor="id")
    assert staged.rows == 3 and staged.max_cursor == 3 and len(staged.files) == 2
    assert read_manifest(location) is None, "no manifest before publish: the batch is incomplete"

    manifest = hook.publish(files=staged.files, source="sql:finance__erp:orders", watermark="3")
    assert manifest.rows == 3
    published = objects(store, location.final)
    assert published == ["_manifest.json", "part-00000.parquet", "part-00001.parquet"], published
    assert not [p for p in objects(store, location.staging) if p.endswith(".parquet")], "staged parts were moved"
    assert sorted(hook.read()["id"].to_pylist()) == [1, 2, 3]
    parts, _ = hook.parts()
    assert all(p.startswith(store.root.partition("://")[0] + "://") for p in parts), parts
    assert hook.publish(files=staged.files, source="x", watermark="3") == manifest, "a retried publish keeps it"


def test_a_damaged_part_is_caught_before_it_is_read(store, request):
    location = BatchLocation(store.root, "orders", f"manual__{request.node.name}")
    hook = LandingHook(location)
    staged = hook.stage(iter([pa.table({"id": [1, 2, 3]})]), cursor=None)
    hook.publish(files=staged.files, source="s", watermark=None)
    store.fs.pipe(f"{location.final.partition('://')[2]}/part-00000.parquet",
                  pq_bytes(pa.table({"id": [1, 2, 3, 4]})))
    with pytest.raises(DamagedBatch, match="part-00000.parquet"):
        hook.verify()


def pq_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def test_a_pipeline_lands_on_the_object_store_and_its_table_equals_the_source(store, tmp_path, request):
    from tenantflow.catalog.hook import IcebergHook
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.load import IcebergLoadOperator

    source = tmp_path / "sources" / "finance" / "fx"
    source.mkdir(parents=True)
    rows = [{"pair": f"EUR{i:03d}", "rate": 1.0 + i / 1000} for i in range(250)]
    pq.write_table(pa.Table.from_pylist(rows), source / "fx.parquet")
    bundle = load_tenant(REPO / "tenant_configs", "finance")
    tenant = bundle.tenant.model_copy(update={"storage": bundle.tenant.storage.model_copy(
        update={"landing": f"{store.root}/{request.node.callspec.id}"})})
    pipeline = PipelineConfig.model_validate({
        "id": "fx_rates", "source": {"kind": "files", "path": "sources/finance/fx/*.parquet", "format": "parquet"},
        "target": {"table": "fx_rates", "mode": "append"}})
    ctx = PipelineContext(tenant, pipeline, bundle.platform, str(tmp_path))

    extracted = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute({"run_id": "manual__1"})
    ti = SimpleNamespace(xcom_pull=lambda task_ids: extracted)
    LandOperator(task_id="land", extract_task_id="extract", pipeline_ctx=ctx).execute({"run_id": "manual__1", "ti": ti})
    IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute({"run_id": "manual__1"})

    assert "_manifest.json" in objects(store, ctx.batch("manual__1").final), "the raw batch landed in the store"
    assert not (tmp_path / "landing").exists(), "nothing landed on the local disk"
    table = IcebergHook(ctx).table().scan().to_arrow().to_pylist()
    assert sorted(table, key=lambda r: r["pair"]) == rows


def test_the_doctor_probe_writes_and_deletes_in_the_store(store):
    from tenantflow.doctor.checks import landing_check
    from tenantflow.doctor.result import Status

    bundle = load_tenant(REPO / "tenant_configs", "finance")
    tenant = bundle.tenant.model_copy(update={"storage": bundle.tenant.storage.model_copy(
        update={"landing": f"{store.root}/doctor"})})
    result = landing_check(SimpleNamespace(tenant=tenant), "/nonexistent")
    assert result.status is Status.OK, result
    assert objects(store, f"{store.root}/doctor") == [], "the probe object is deleted"


def test_a_landing_connection_of_the_wrong_type_is_named(store, monkeypatch, request):
    monkeypatch.setenv(store.env, json.dumps({"conn_type": "aws"}))
    hook = LandingHook(BatchLocation(store.root, "orders", f"manual__{request.node.name}"))
    with pytest.raises(ValueError, match="has type 'aws'; a (gs|az):// landing needs a '(google_cloud_platform|wasb)'"):
        hook.stage(iter([pa.table({"id": [1]})]), cursor=None)
