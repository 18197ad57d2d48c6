"""The transform stage honours the landing contract: approved rows in, a 'transformed' batch out, state kept."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.config.models import Target
from tenantflow.config.transform import Transform
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.landing.store import LandingHook
from tenantflow.loading.run_load import load_run
from tenantflow.pipeline_context import PipelineContext
from tenantflow.processing.transform_step import lookup_identifier, run_local_transform

RUN = "manual__2026-11-29T10:00:00+00:00"


@pytest.fixture
def ctx(repo, tmp_path) -> PipelineContext:
    bundle = load_tenant(repo / "tenant_configs", "finance")
    transform = Transform(sql="SELECT order_id, amount * 2 AS doubled FROM batch WHERE status <> 'cancelled'")
    pipeline = bundle.pipeline("orders").model_copy(update={
        "transform": transform, "incremental": None, "target": Target(table="orders_doubled", mode="append")})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(tmp_path))


def land(ctx: PipelineContext, table: pa.Table) -> LandingHook:
    raw = LandingHook(ctx.batch(RUN))
    staged = raw.stage([table], cursor=None)
    raw.publish(files=staged.files, source="test", watermark="2026-11-29 09:00:00", source_files=["a.csv"])
    return raw


def orders(ids, statuses):
    return pa.table({"order_id": pa.array(ids, pa.int64()), "amount": [float(i) for i in ids],
                     "status": statuses})


def test_the_transform_reads_the_approved_rows_and_load_writes_its_output(ctx):
    raw = land(ctx, orders([1, 2, 3, 4], ["placed", "cancelled", "placed", "placed"]))
    # the quality stage approved all but order 4
    raw.publish_derived("approved", [orders([1, 2, 3], ["placed", "cancelled", "placed"])], source="quality")
    hook = IcebergHook(ctx)
    manifest = run_local_transform(ctx, RUN, hook.catalog)
    assert manifest.rows == 2 and manifest.watermark == "2026-11-29 09:00:00"
    assert manifest.source == "transform of the approved batch" and manifest.source_files == ["a.csv"]
    assert raw.load_input().location.stage == "transformed"
    result = load_run(ctx, RUN, hook)
    assert result["rows"] == 2
    table = hook.table()
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["order_id"]) == [
        {"order_id": 1, "doubled": 2.0}, {"order_id": 3, "doubled": 6.0}]
    summary = table.current_snapshot().summary.additional_properties
    assert summary["tenantflow.run-id"] == RUN and summary["tenantflow.watermark"] == "2026-11-29 09:00:00"


def test_without_an_approved_batch_the_raw_batch_is_transformed(ctx):
    land(ctx, orders([1, 2], ["placed", "placed"]))
    manifest = run_local_transform(ctx, RUN, IcebergHook(ctx).catalog)
    assert manifest.rows == 2 and manifest.source == "transform of the raw batch"


def test_a_retried_transform_keeps_the_published_batch(ctx):
    raw = land(ctx, orders([1, 2], ["placed", "placed"]))
    first = run_local_transform(ctx, RUN, IcebergHook(ctx).catalog)
    again = run_local_transform(ctx, RUN, IcebergHook(ctx).catalog)
    assert first == again
    assert raw.derived("transformed").read().num_rows == 2


def test_lookups_resolve_in_the_tenants_namespaces_only(ctx):
    assert lookup_identifier(ctx, "customers") == "finance.customers"
    assert lookup_identifier(ctx, "finance_ref.customers") == "finance_ref.customers"
    with pytest.raises(TenantIsolationError):
        lookup_identifier(ctx, "retail.customers")


def test_a_run_whose_rows_were_all_set_aside_still_commits_its_watermark(ctx):
    from tenantflow.loading import state

    hook = IcebergHook(ctx)
    land(ctx, orders([1], ["placed"]))
    load_run(ctx, RUN, hook)  # the table exists after a first load
    second = "manual__2026-11-30T10:00:00+00:00"
    raw = LandingHook(ctx.batch(second))
    staged = raw.stage([orders([7, 8], ["placed", "placed"])], cursor=None)
    raw.publish(files=staged.files, source="test", watermark="2026-11-30 09:00:00", source_files=["b.csv"])
    raw.publish_derived("approved", [orders([], [])], source="quality")  # every row quarantined
    result = load_run(ctx, second, hook)
    assert result["rows"] == 0 and result["state_committed"]
    table = hook.table()
    assert table.scan().to_arrow().num_rows == 1, "no rows were loaded"
    assert state.last_watermark(table) == "2026-11-30 09:00:00", "the next run does not re-read the same rows"
    assert second in state.committed_run_ids(table)


def test_a_batch_without_new_files_transforms_to_an_empty_batch_and_loads_nothing(ctx):
    """No new files since the last run (e.g. an `after:` run of a files source): the raw batch has no parts and
    no columns; the transform publishes an empty batch instead of running its SQL on a table without columns,
    and the load leaves the table as it was."""
    hook = IcebergHook(ctx)
    land(ctx, orders([1], ["placed"]))
    run_local_transform(ctx, RUN, hook.catalog)
    load_run(ctx, RUN, hook)
    second = "manual__2026-11-30T10:00:00+00:00"
    raw = LandingHook(ctx.batch(second))
    raw.publish(files=[], source="test", watermark="2026-11-29 09:00:00", source_files=[])
    manifest = run_local_transform(ctx, second, hook.catalog)
    assert manifest.rows == 0 and manifest.files == [] and raw.load_input().location.stage == "transformed"
    result = load_run(ctx, second, hook)
    assert result["rows"] == 0 and result["skipped"]
    assert hook.table().scan().to_arrow().num_rows == 1
