"""Audit records written by the real components: a load (and its PII masking), a retried load, a quarantine,
a maintenance run; where they live (a platform namespace the tenant's hook refuses) and that a failed audit
write fails the task without losing or doubling anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from conftest import copy_config_tree
from tenantflow.audit import store as audit_store
from tenantflow.audit.records import AUDIT_NAMESPACE, MAINTENANCE, SCHEDULER, AuditRecord, cli_actor
from tenantflow.audit.store import AuditStore, AuditWriteFailed
from tenantflow.catalog.hook import IcebergHook
from tenantflow.config.loader import load_tenant
from tenantflow.config.privacy import PiiPolicy
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.landing.store import LandingHook
from tenantflow.pipeline_context import PipelineContext

RUN = "manual__2026-12-06T10:00:00+00:00"
SCHEDULED = "scheduled__2026-12-06T11:00:00+00:00"
PII_KEY = "retail-audit-test-hmac-key-0123456789"
EMAILS = [f"shopper{i}@example.com" for i in range(40)]

QUARANTINE_RULES = """quality:
  - rule: not_null
    column: sale_id
  - rule: range
    column: quantity
    min: 1
    max: 4
    severity: quarantine
  - rule: accepted_values
    column: channel
    values: [store]
    severity: quarantine
target:"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy_config_tree(tmp_path)
    sales = tmp_path / "tenant_configs" / "retail" / "pipelines" / "sales.yaml"
    text = sales.read_text()
    sales.write_text(text[:text.index("quality:")] + QUARANTINE_RULES + text[text.index("target:") + 7:])
    return tmp_path


HASH_PII = PiiPolicy(auto="hash")


def context(tree: Path, pii: PiiPolicy | None = HASH_PII) -> PipelineContext:
    bundle = load_tenant(tree / "tenant_configs", "retail")
    target = bundle.pipeline("sales").target.model_copy(update={"partition_by": ()})
    pipeline = bundle.pipeline("sales").model_copy(update={"pii": pii, "incremental": None, "target": target})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(tree / "home"))


def land(ctx: PipelineContext, run_id: str, rows: int = 40) -> None:
    raw = LandingHook(ctx.batch(run_id))
    batch = pa.table({"sale_id": pa.array(range(rows), pa.int64()), "buyer": EMAILS[:rows],
                      "quantity": pa.array([1 + i % 6 for i in range(rows)], pa.int64()),
                      "channel": ["store" if i % 5 else "online" for i in range(rows)]})
    staged = raw.stage([batch], cursor=None)
    raw.publish(files=staged.files, source="test", watermark=None)


def airflow_context(run_id: str, user: str | None) -> dict:
    return {"run_id": run_id, "dag_run": SimpleNamespace(run_id=run_id, triggering_user_name=user)}


def trail(ctx: PipelineContext, action: str | None = None) -> list[AuditRecord]:
    return AuditStore.for_tenant(ctx.tenant, ctx.platform, ctx.home).read(action=action)


def load(ctx: PipelineContext, run_id: str, user: str | None) -> dict:
    from tenantflow.operators.load import IcebergLoadOperator

    return IcebergLoadOperator(task_id="load", pipeline_ctx=ctx).execute(airflow_context(run_id, user))


@pytest.fixture(autouse=True)
def pii_key(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__PII", f'{{"conn_type": "generic", "password": "{PII_KEY}"}}')


def test_a_load_is_recorded_with_its_snapshot_rows_masking_and_the_triggering_user(tree, pii_key):
    ctx = context(tree)
    land(ctx, RUN)
    result = load(ctx, RUN, "retail_engineer")
    table = IcebergHook(ctx).table()
    (loaded,) = trail(ctx, "load")
    assert (loaded.tenant, loaded.actor, loaded.target, loaded.run_id) == ("retail", "retail_engineer",
                                                                            "retail.sales", RUN)
    assert loaded.snapshot_id == table.current_snapshot().snapshot_id == result["snapshot_id"]
    assert loaded.details["rows_added"] == 40 and loaded.details["rows_deleted"] == 0
    assert loaded.at.tzinfo is not None and abs(loaded.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    (masking,) = trail(ctx, "pii.masking")
    assert (masking.target, masking.actor, masking.details["method"], masking.details["pii_type"]) == (
        "retail.sales.buyer", "retail_engineer", "hash", "email")
    text = str([r.as_dict() for r in trail(ctx)])
    assert not any(e in text for e in EMAILS) and "shopper" not in text, "an audit record holds a data value"


def test_the_audit_table_is_the_platforms_where_the_tenant_cannot_reach_it(tree, pii_key):
    ctx = context(tree)
    land(ctx, RUN)
    load(ctx, RUN, "retail_engineer")
    store = AuditStore.for_tenant(ctx.tenant, ctx.platform, ctx.home)
    location = store.table().location()
    assert f"/warehouse/_platform/{AUDIT_NAMESPACE}" in location and "/warehouse/retail/" not in location
    assert store.table().properties["tenantflow.audit"] == "append-only"
    with pytest.raises(TenantIsolationError):
        IcebergHook(ctx).tenant_table(f"{AUDIT_NAMESPACE}.retail")
    other = ctx.pipeline.model_copy(update={"target": ctx.pipeline.target})
    with pytest.raises(TenantIsolationError):  # a tenant config naming the audit namespace as its own
        IcebergHook(PipelineContext(ctx.tenant.model_copy(update={"catalog": ctx.tenant.catalog.model_copy(
            update={"namespace": AUDIT_NAMESPACE})}), other, ctx.platform, ctx.home))


def test_no_tenant_id_can_own_the_audit_namespace():
    from tenantflow import naming
    from tenantflow.config.models import TenantConfig

    for tenant_id in ("tenantflow", "tenantflow_audit"):
        assert naming.owns_namespace(tenant_id, AUDIT_NAMESPACE) and naming.reserved_tenant_id(tenant_id)
        with pytest.raises(ValueError, match="reserved"):
            TenantConfig._id_slug(tenant_id)
    assert not naming.reserved_tenant_id("finance") and not naming.reserved_tenant_id("tenantflows")


def test_a_failed_audit_write_fails_the_load_and_its_retry_records_once(tree, pii_key, monkeypatch):
    ctx = context(tree)
    land(ctx, SCHEDULED)
    monkeypatch.setattr(audit_store, "BACKOFF_SECONDS", (0.0,))
    working, calls = AuditStore._append_new, []

    def broken(self, records):
        calls.append(len(records))
        raise OSError("catalog unreachable")

    monkeypatch.setattr(AuditStore, "_append_new", broken)
    with pytest.raises(AuditWriteFailed, match="after 3 attempts"):
        load(ctx, SCHEDULED, None)
    assert len(calls) == 3
    table = IcebergHook(ctx).table()
    committed = table.current_snapshot().snapshot_id
    assert table.scan().to_arrow().num_rows == 40, "the load committed before its audit write"
    monkeypatch.setattr(AuditStore, "_append_new", working)

    retry = load(ctx, SCHEDULED, None)  # Airflow's retry of the task
    assert retry["skipped"] and IcebergHook(ctx).table().scan().to_arrow().num_rows == 40, "loaded twice"
    (loaded,) = trail(ctx, "load")
    assert (loaded.actor, loaded.snapshot_id, loaded.details["rows_added"]) == (SCHEDULER, committed, 40)
    assert loaded.details["retried"] is True
    load(ctx, SCHEDULED, None)  # and once more: still one record
    assert len(trail(ctx, "load")) == 1


def test_a_quarantine_is_recorded_with_rows_and_rules(tree):
    from tenantflow.operators.quality import QualityCheckOperator

    ctx = context(tree)
    land(ctx, SCHEDULED)
    summary = QualityCheckOperator(task_id="quality", pipeline_ctx=ctx).execute(airflow_context(SCHEDULED, None))
    assert summary["quarantined_rows"] > 0
    (record,) = trail(ctx, "quarantine")
    assert (record.actor, record.target, record.run_id) == (SCHEDULER, "retail.sales__quarantine", SCHEDULED)
    assert record.details["rows_quarantined"] == summary["quarantined_rows"]
    assert record.details["rules"] == ["accepted_values(channel)", "range(quantity)"]
    QualityCheckOperator(task_id="quality", pipeline_ctx=ctx).execute(airflow_context(SCHEDULED, None))
    assert len(trail(ctx, "quarantine")) == 1, "a retried quality task recorded its quarantine twice"


def test_a_maintenance_run_is_recorded_as_the_platforms(tree, pii_key):
    from tenantflow.operators.maintenance import TableMaintenanceOperator

    ctx = context(tree)
    for n in range(3):
        run_id = f"scheduled__2026-12-0{n + 1}T00:00:00+00:00"
        land(ctx, run_id)
        load(ctx, run_id, None)
    maintenance_run = "scheduled__2026-12-06T03:30:00+00:00"
    result = TableMaintenanceOperator(task_id="maintain", pipeline_ctx=ctx).execute(
        airflow_context(maintenance_run, None))
    (record,) = trail(ctx, "maintenance")
    assert (record.actor, record.target, record.run_id) == (MAINTENANCE, "retail.sales", maintenance_run)
    summary = result["tables"][0]
    assert record.details["expire"]["snapshots_expired"] == summary["expire"]["snapshots_expired"]
    assert record.details["compact"] == {k: v for k, v in summary["compact"].items() if k != "seconds"}
    assert record.details["orphans"]["files_deleted"] == summary["orphans"]["files_deleted"]
    assert [r.action for r in trail(ctx)].count("load") == 3


def test_the_cli_actor_names_the_operator_or_the_login(monkeypatch):
    monkeypatch.setenv("USER", "ann")
    assert (cli_actor("ops-jane"), cli_actor(None), cli_actor("cli:bob")) == ("cli:ops-jane", "cli:ann", "cli:bob")


def test_records_are_read_by_period_and_action(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/c.db",
                                                      "warehouse": "file://{home}/wh/{tenant}"})
    store = AuditStore(open_catalog("t", settings, str(tmp_path), tenant_id="_platform"), "acme")
    day = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    records = [AuditRecord("acme", day + dt.timedelta(days=n), "u", action, f"acme.t{n}", f"r{n}")
               for n, action in enumerate(["load", "quarantine", "load", "sync.grant"])]
    assert store.append(records) == 4 and store.append(records) == 0
    since, until = dt.datetime(2026, 12, 2, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    assert [r.target for r in store.read(since=since, until=until)] == ["acme.t1", "acme.t2"]
    assert [r.target for r in store.read(action="load")] == ["acme.t0", "acme.t2"]
    assert [r.target for r in store.read(action="sync.*")] == ["acme.t3"]
    with pytest.raises(ValueError, match="do not belong"):
        store.append([AuditRecord("other", day, "u", "load", "other.t")])


def test_a_stream_runs_micro_batches_are_recorded_from_the_tables_snapshots(tree):
    from tenantflow.audit.events import stream_load_records
    from tenantflow.loading import state

    ctx = context(tree)
    catalog = IcebergHook(ctx).catalog
    catalog.create_namespace_if_not_exists("retail")
    table = catalog.create_table("retail.sales", pa.schema([("sale_id", pa.int64())]))
    run = "scheduled__2026-12-06T12:00:00+00:00"
    for n, batch_run in enumerate([f"{run}.ab12cd34.00000", f"{run}.ab12cd34.00001", "manual__other.x.00000"]):
        table.append(pa.table({"sale_id": pa.array(range(n + 2), pa.int64())}),
                     snapshot_properties={state.RUN_ID: batch_run})
    records = stream_load_records(ctx, table.refresh(), run_id=run, actor=SCHEDULER)
    assert [(r.run_id, r.details["rows_added"], r.details["airflow_run_id"]) for r in records] == [
        (f"{run}.ab12cd34.00000", 2, run), (f"{run}.ab12cd34.00001", 3, run)]
    assert [r.snapshot_id for r in records] == [s.snapshot_id for s in table.snapshots()[:2]]
    store = AuditStore.for_tenant(ctx.tenant, ctx.platform, ctx.home)
    assert store.append(records) == 2
    assert store.append(stream_load_records(ctx, table, run_id=run, actor=SCHEDULER)) == 0, "a retry doubled them"


def test_a_consume_that_fails_after_committing_still_records_its_micro_batches(tree, monkeypatch):
    from tenantflow.loading import state
    from tenantflow.operators.consume import StreamConsumeOperator
    from tenantflow.streams import consume as consume_module
    from tenantflow.streams import registry

    bundle = load_tenant(tree / "tenant_configs", "retail")  # store_events: a queue source
    ctx = PipelineContext(bundle.tenant, bundle.pipeline("store_events"), bundle.platform, str(tree / "home"))
    catalog = IcebergHook(ctx).catalog
    catalog.create_namespace_if_not_exists("retail")
    table = catalog.create_table(ctx.table_identifier, pa.schema([("sale_id", pa.int64())]))

    def consume(ctx, run_id, reader, batch, per_run):  # one micro-batch committed, then the broker goes away
        table.append(pa.table({"sale_id": pa.array([1, 2], pa.int64())}),
                     snapshot_properties={state.RUN_ID: f"{run_id}.ffff0000.00000"})
        raise ConnectionError("broker gone")

    monkeypatch.setattr(consume_module, "consume", consume)
    monkeypatch.setattr(registry, "stream_reader", lambda ctx: None)
    operator = StreamConsumeOperator(task_id="consume", pipeline_ctx=ctx)
    with pytest.raises(ConnectionError):
        operator.execute(airflow_context(SCHEDULED, "retail_engineer"))
    (loaded,) = trail(ctx, "load")
    assert (loaded.run_id, loaded.actor, loaded.details["rows_added"]) == (
        f"{SCHEDULED}.ffff0000.00000", "retail_engineer", 2)


def _concurrent_store(home: str) -> AuditStore:
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/c.db",
                                                      "warehouse": "file://{home}/wh/{tenant}"})
    return AuditStore(open_catalog("t", settings, home, tenant_id="_platform"), "acme")


def _concurrent_write(home: str, n: int) -> int:
    record = AuditRecord("acme", dt.datetime.now(dt.UTC), "u", "load", f"acme.t{n}", f"r{n}")
    return _concurrent_store(home).append([record])


def test_concurrent_writers_of_one_tenant_lose_no_record(tmp_path):
    """A tenant's pipelines run at once, each in a task process of its own: their appends to the one audit
    table conflict and are retried."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    home = str(tmp_path)
    _concurrent_store(home).table(create=True)
    with ProcessPoolExecutor(6, mp_context=multiprocessing.get_context("fork")) as pool:
        assert list(pool.map(partial(_concurrent_write, home), range(12))) == [1] * 12
    assert sorted(r.run_id for r in _concurrent_store(home).read()) == sorted(f"r{n}" for n in range(12))
