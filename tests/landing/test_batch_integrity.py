"""Batch integrity: a landed part that no longer matches its manifest fails the load before anything is
committed, names run, part and both values, and landing the run again replaces the damaged batch."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.landing.batch import BatchLocation, read_manifest
from tenantflow.landing.integrity import DamagedBatch
from tenantflow.landing.store import LandingHook
from tenantflow.loading.run_load import load_run
from tenantflow.pipeline_context import PipelineContext

RUN = "manual__2026-11-29T12:00:00+00:00"
OTHER_RUN = "manual__2026-11-28T12:00:00+00:00"
PART = "part-00001.parquet"
HINT = "airflow tasks clear retail__sales -t '^(extract|land)\\.' -d -s 2026-11-29T12:00:00+00:00 " \
       "-e 2026-11-29T12:00:00+00:00 -y"


def part_table(start: int, rows: int = 10_000) -> pa.Table:
    ids = pa.array(range(start, start + rows), pa.int64())
    return pa.table({"sale_id": ids, "quantity": pa.array([i % 7 for i in range(rows)], pa.int64())})


@pytest.fixture
def ctx(repo, tmp_path) -> PipelineContext:
    bundle = load_tenant(repo / "tenant_configs", "retail")
    target = bundle.pipeline("sales").target.model_copy(update={"partition_by": ()})
    pipeline = bundle.pipeline("sales").model_copy(update={"pii": None, "incremental": None, "target": target})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(tmp_path))


def land(ctx: PipelineContext, run_id: str = RUN) -> LandingHook:
    """Two parts of 10,000 rows each, staged and published as land does."""
    raw = LandingHook(ctx.batch(run_id))
    staged = raw.stage([part_table(0), part_table(10_000)], cursor=None)
    raw.publish(files=staged.files, source="test", watermark=None)
    return raw


def part_path(raw: LandingHook, name: str = PART) -> str:
    return os.path.join(raw.location.final, name)


def rewrite_with_half_its_rows(raw: LandingHook) -> None:
    pq.write_table(part_table(10_000, 5_000), part_path(raw), compression="zstd")  # valid Parquet, same name


def table_rows(ctx: PipelineContext) -> int | None:
    table = IcebergHook(ctx).table()
    return None if table is None else table.scan().to_arrow().num_rows


def test_manifest_records_rows_bytes_and_sha256_of_each_part(ctx):
    raw = land(ctx)
    manifest = read_manifest(raw.location)
    expected = []
    for name in ("part-00000.parquet", PART):
        data = open(part_path(raw, name), "rb").read()
        expected.append({"name": name, "rows": 10_000, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert manifest.parts == expected
    assert manifest.files == ["part-00000.parquet", PART] and manifest.rows == 20_000
    assert not os.path.exists(raw.location.staging), "the staging records go with the staging folder"


def test_a_part_rewritten_with_half_its_rows_fails_the_load_and_commits_nothing(ctx):
    land(ctx, OTHER_RUN)
    assert load_run(ctx, OTHER_RUN)["rows"] == 20_000
    snapshots = len(IcebergHook(ctx).table().snapshots())
    raw = land(ctx)
    rewrite_with_half_its_rows(raw)

    with pytest.raises(DamagedBatch) as caught:
        load_run(ctx, RUN)
    message = str(caught.value)
    assert message.startswith(f"run '{RUN}' part {PART}: the manifest says 10000 rows, the file has 5000. ")
    assert f"The batch at {raw.location.final} cannot be used as it is; land the run again" in message
    assert HINT in message
    assert table_rows(ctx) == 20_000, "the damaged run added no rows"
    assert len(IcebergHook(ctx).table().snapshots()) == snapshots, "nothing was committed"


def truncate(path: str) -> str:
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size - 100)
    return f"; the manifest says {size} bytes, the file has {size - 100}."


def garbage(path: str) -> str:
    size = os.path.getsize(path)
    with open(path, "wb") as handle:
        handle.write(os.urandom(size))
    return f"; the manifest says {size} bytes, the file has {size}."


def flip_a_byte(path: str) -> str:
    data = bytearray(open(path, "rb").read())
    before = hashlib.sha256(data).hexdigest()
    data[len(data) // 3] ^= 0xFF  # inside a data page: footer and size unchanged
    open(path, "wb").write(bytes(data))
    return f": the manifest says sha256 {before}, the file has {hashlib.sha256(data).hexdigest()}."


def delete(path: str) -> str:
    os.remove(path)
    return ": the file is missing (the manifest lists it with 10000 rows)."


@pytest.mark.parametrize("damage", [truncate, garbage, flip_a_byte, delete], ids=lambda f: f.__name__)
def test_a_damaged_part_fails_the_load_naming_the_part(ctx, damage):
    raw = land(ctx)
    detail = damage(part_path(raw))

    with pytest.raises(DamagedBatch) as caught:
        load_run(ctx, RUN)
    message = str(caught.value)
    assert message.startswith(f"run '{RUN}' part {PART}")
    assert detail in message and HINT in message
    if damage in (truncate, garbage):
        assert message.startswith(f"run '{RUN}' part {PART}: not a readable Parquet file (")
    assert table_rows(ctx) is None, "nothing was written"


def test_the_load_operator_fails_without_retry(ctx):
    from airflow.sdk.exceptions import AirflowFailException

    from tenantflow.operators.load import IcebergLoadOperator

    rewrite_with_half_its_rows(land(ctx))
    operator = IcebergLoadOperator(task_id="load", pipeline_ctx=ctx)
    with pytest.raises(AirflowFailException) as caught:
        operator.execute({"run_id": RUN})
    assert isinstance(caught.value.__cause__, DamagedBatch)
    assert str(caught.value) == str(caught.value.__cause__)
    assert "the manifest says 10000 rows, the file has 5000" in str(caught.value)


class FakeTaskInstance:
    def __init__(self, extracted: dict) -> None:
        self.extracted = extracted

    def xcom_pull(self, task_ids: str) -> dict:
        return self.extracted


def test_landing_the_run_again_replaces_the_damaged_batch_and_its_derived_batches(ctx, caplog):
    from tenantflow.operators.land import LandOperator

    raw = land(ctx)
    raw.publish_derived("approved", [part_table(0, 3)], source="quality")
    rewrite_with_half_its_rows(raw)
    assert raw.load_input().location.stage == "approved"

    staged = raw.stage([part_table(0), part_table(10_000)], cursor=None)  # extract cleared and run again
    extracted = {"files": staged.files, "source": "test", "watermark": None}
    land_task = LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract")
    result = land_task.execute({"run_id": RUN, "ti": FakeTaskInstance(extracted)})

    assert result["rows"] == 20_000
    assert f"batch {raw.location.final} is damaged" in caplog.text
    assert not raw.derived("approved").exists(), "the batch derived from the damaged one is gone"
    assert raw.load_input() is raw and raw.damage() is None
    assert load_run(ctx, RUN)["rows"] == 20_000
    assert sorted(IcebergHook(ctx).table().scan().to_arrow()["sale_id"].to_pylist()) == list(range(20_000))


def test_landing_again_without_a_new_extract_keeps_failing_with_the_hint(ctx):
    raw = land(ctx)
    rewrite_with_half_its_rows(raw)
    with pytest.raises(DamagedBatch) as caught:
        raw.publish(files=["part-00000.parquet", PART], source="test", watermark=None)
    message = str(caught.value)
    assert f"part {PART}: the manifest says 10000 rows, the file has 5000; no freshly staged parts" in message
    assert HINT in message
    assert read_manifest(raw.location).rows == 20_000, "the damaged batch stays until fresh parts replace it"


def test_an_intact_batch_is_kept_when_land_runs_again(ctx):
    raw = land(ctx)
    first = read_manifest(raw.location)
    assert raw.publish(files=first.files, source="other", watermark=None) == first


def test_nothing_is_derived_from_a_damaged_batch(ctx):
    raw = land(ctx)
    rewrite_with_half_its_rows(raw)
    with pytest.raises(DamagedBatch, match="the manifest says 10000 rows, the file has 5000"):
        raw.publish_derived("approved", [part_table(0, 3)], source="quality")
    assert not raw.derived("approved").exists()


def test_a_damaged_derived_batch_is_published_again(ctx):
    raw = land(ctx)
    approved = raw.publish_derived("approved", [part_table(0, 3)], source="quality")
    os.remove(os.path.join(raw.derived("approved").location.final, "part-00000.parquet"))
    expected = f"run '{RUN}' approved batch part part-00000.parquet: the file is missing (the manifest lists it with 3"
    with pytest.raises(DamagedBatch, match=re.escape(expected)):
        load_run(ctx, RUN)
    again = raw.publish_derived("approved", [part_table(0, 3)], source="quality")
    assert again.parts == approved.parts and raw.derived("approved").damage() is None


def write_old_format_manifest(raw: LandingHook) -> None:
    path = raw.location.manifest
    manifest = json.loads(open(path).read())
    del manifest["parts"]
    open(path, "w").write(json.dumps(manifest))


def test_an_old_manifest_without_parts_still_loads(ctx):
    raw = land(ctx)
    write_old_format_manifest(raw)
    assert read_manifest(raw.location).parts == []
    assert load_run(ctx, RUN)["rows"] == 20_000
    assert table_rows(ctx) == 20_000


def test_an_old_manifest_is_checked_by_footer_row_counts(ctx):
    raw = land(ctx)
    write_old_format_manifest(raw)
    rewrite_with_half_its_rows(raw)
    with pytest.raises(DamagedBatch) as caught:
        load_run(ctx, RUN)
    assert str(caught.value).startswith(f"run '{RUN}': the manifest says 20000 rows, its parts have 15000 "
                                        f"(part-00000.parquet: 10000, {PART}: 5000). ")
    assert table_rows(ctx) is None


@pytest.fixture
def s3_location(moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="acme-retail-integrity")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["Arn"]
    return client, BatchLocation("s3://acme-retail-integrity/raw", "sales", RUN, kms_key_id=key_id,
                                 dag_id="retail__sales")


def test_on_s3_the_manifest_matches_the_objects_and_a_rewritten_part_is_caught(s3_location):
    client, location = s3_location
    raw = LandingHook(location)
    staged = raw.stage([part_table(0), part_table(10_000)], cursor=None)
    manifest = raw.publish(files=staged.files, source="test", watermark=None)
    prefix = location.final.removeprefix("s3://acme-retail-integrity/")
    for record in manifest.parts:
        data = client.get_object(Bucket="acme-retail-integrity", Key=f"{prefix}/{record['name']}")["Body"].read()
        assert (record["rows"], record["bytes"], record["sha256"]) == (10_000, len(data),
                                                                       hashlib.sha256(data).hexdigest())
    assert raw.verify() == manifest

    sink = pa.BufferOutputStream()
    pq.write_table(part_table(10_000, 5_000), sink)
    client.put_object(Bucket="acme-retail-integrity", Key=f"{prefix}/{PART}", Body=sink.getvalue().to_pybytes())
    with pytest.raises(DamagedBatch) as caught:
        raw.verify()
    assert str(caught.value).startswith(f"run '{RUN}' part {PART}: the manifest says 10000 rows, the file has 5000. "
                                        f"The batch at {location.final} cannot be used as it is")
    assert HINT in str(caught.value)
