"""The Spark engine (engine: databricks) on a local Spark: the landed batch read by Spark, the SQL run as written,
the parts written by Spark's writer and published with their manifest last, then loaded exactly once — the
same contract as the local engine (tests/processing/test_transform_step.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.config.models import Target
from tenantflow.config.transform import Transform
from tenantflow.landing.store import LandingHook
from tenantflow.loading.run_load import load_run
from tenantflow.pipeline_context import PipelineContext
from tenantflow.processing.spark_engine import run_spark_transform, spark_session
from tenantflow.processing.transform_step import run_local_transform

RUN = "manual__2026-12-04T10:00:00+00:00"
SQL = ("SELECT o.order_id, o.amount * 2 AS doubled, c.segment, CAST(o.placed AS TIMESTAMP) AS placed "
       "FROM batch o LEFT JOIN customers c ON o.customer_id = c.customer_id WHERE o.status <> 'cancelled'")


def context(repo, home, table: str) -> PipelineContext:
    bundle = load_tenant(repo / "tenant_configs", "finance")
    transform = Transform(sql=SQL, lookups={"customers": "customer_segments"})
    pipeline = bundle.pipeline("orders").model_copy(update={
        "transform": transform, "incremental": None, "target": Target(table=table, mode="append")})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(home))


def orders(ids) -> pa.Table:
    return pa.table({"order_id": pa.array(ids, pa.int64()), "amount": [i * 1.5 for i in ids],
                     "customer_id": pa.array([i % 3 for i in ids], pa.int64()),
                     "status": ["cancelled" if i % 5 == 0 else "placed" for i in ids],
                     "placed": [f"2026-12-0{1 + i % 4} 08:30:00" for i in ids]})


def land(ctx: PipelineContext, run_id: str, *tables: pa.Table) -> LandingHook:
    raw = LandingHook(ctx.batch(run_id))
    staged = raw.stage(list(tables), cursor=None)
    raw.publish(files=staged.files, source="test", watermark="2026-12-04 09:00:00", source_files=["o.csv"])
    return raw


@pytest.fixture
def homes(repo, tmp_path, spark):
    """The same landed batches (two parts) and lookup table under a Spark home and a DuckDB home."""
    made = {}
    for engine in ("spark", "duckdb"):
        ctx = context(repo, tmp_path / engine, f"orders_{engine}")
        hook = IcebergHook(ctx)
        lookup = pa.table({"customer_id": pa.array([0, 1], pa.int64()), "segment": ["retail", "corporate"]})
        hook.catalog.create_namespace_if_not_exists("finance")
        hook.catalog.create_table("finance.customer_segments", schema=lookup.schema).append(lookup)
        land(ctx, RUN, orders(range(1, 40)), orders(range(40, 80)))
        made[engine] = (ctx, hook)
    return made


def test_the_spark_transform_publishes_sparks_parts_and_loads_the_same_table_as_duckdb(homes):
    ctx, hook = homes["spark"]
    manifest = run_spark_transform(ctx, RUN, hook.catalog)
    assert manifest.source == "Spark transform of the raw batch" and manifest.rows == 79 - 79 // 5
    assert manifest.files and all(name.startswith("part-") for name in manifest.files)
    assert manifest.source_files == ["o.csv"] and manifest.watermark == "2026-12-04 09:00:00"
    assert LandingHook(ctx.batch(RUN)).load_input().location.stage == "transformed"
    assert load_run(ctx, RUN, hook)["rows"] == manifest.rows
    local_ctx, local_hook = homes["duckdb"]
    run_local_transform(local_ctx, RUN, local_hook.catalog)
    load_run(local_ctx, RUN, local_hook)
    spark_rows = hook.table().scan().to_arrow().sort_by("order_id")
    duck_rows = local_hook.table().scan().to_arrow().sort_by("order_id")
    assert spark_rows.schema.names == duck_rows.schema.names
    assert spark_rows.to_pylist() == duck_rows.to_pylist()
    assert {r["segment"] for r in spark_rows.to_pylist()} == {"retail", "corporate", None}
    snapshots = len(hook.table().snapshots())
    load_run(ctx, RUN, hook)  # the same run id again: exactly once, nothing new is committed
    assert len(hook.table().snapshots()) == snapshots and hook.table().scan().to_arrow().num_rows == manifest.rows


def test_a_retried_spark_transform_keeps_the_published_batch(homes):
    ctx, hook = homes["spark"]
    first = run_spark_transform(ctx, RUN, hook.catalog)
    again = run_spark_transform(ctx, RUN, hook.catalog, spark_session())
    assert first == again


def test_an_empty_batch_needs_no_spark_job(homes):
    ctx, hook = homes["spark"]
    second = "manual__2026-12-05T10:00:00+00:00"
    LandingHook(ctx.batch(second)).publish(files=[], source="test", watermark=None, source_files=[])
    manifest = run_spark_transform(ctx, second, hook.catalog, session=object())  # never touched
    assert manifest.rows == 0 and manifest.files == []
