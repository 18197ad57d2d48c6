"""Label building, and emitting that never fails a task."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from tenantflow.metrics import emit, names
from tenantflow.metrics.freshness import last_load_time
from tenantflow.metrics.names import LabelError, labels

CTX = SimpleNamespace(tenant_id="retail", pipeline=SimpleNamespace(id="sales"), table_identifier="retail.sales")


def test_labels_are_exactly_the_metrics_declared_labels():
    assert labels(names.ROWS, tenant="retail", pipeline="sales", stage="load") == {
        "tenant": "retail", "pipeline": "sales", "stage": "load"}
    assert labels(names.LAST_LOAD, tenant="retail", pipeline="sales", table="retail.sales") == {
        "tenant": "retail", "pipeline": "sales", "table": "retail.sales"}


@pytest.mark.parametrize(("metric", "given", "message"), [
    (names.ROWS, {"tenant": "retail", "pipeline": "sales"}, "missing ['stage']"),
    (names.QUALITY_SCORE, {"tenant": "retail", "pipeline": "sales", "stage": "quality"}, "unexpected ['stage']"),
    (names.ROWS, {"tenant": "retail", "pipeline": "sales", "stage": "register"}, "stage 'register' is not one of"),
    (names.ROWS, {"tenant": "re,tail", "pipeline": "sales", "stage": "load"}, "label tenant='re,tail' contains [',']"),
    (names.LAST_LOAD, {"tenant": "retail", "pipeline": "sales", "table": "a=b"}, "contains ['=']"),
])
def test_a_bad_label_is_refused_naming_metric_and_label(metric, given, message):
    with pytest.raises(LabelError, match=r"metric tenantflow\.") as error:
        labels(metric, **given)
    assert message in str(error.value)


def test_every_metric_is_named_under_tenantflow_with_known_labels():
    assert len({m.name for m in names.CATALOGUE}) == len(names.CATALOGUE)
    for m in names.PIPELINE_METRICS:
        assert m.name.startswith("tenantflow.") and set(m.labels) <= set(names.LABELS)
        assert {"tenant", "pipeline"} <= set(m.labels), m.name
    for m in names.ALERT_METRICS:
        assert m.name.startswith("tenantflow.alerts.") and m.labels == ("tenant", "event", "kind")


@pytest.fixture
def sent(monkeypatch):
    from airflow.sdk.observability.stats import Stats

    calls = []
    monkeypatch.setattr(Stats, "incr", lambda name, count=None, *, tags: calls.append(("incr", name, count, tags)))
    monkeypatch.setattr(Stats, "gauge", lambda name, value, *, tags: calls.append(("gauge", name, value, tags)))
    return calls


def test_a_stage_sends_rows_bytes_and_rejects_through_airflows_stats(sent):
    emit.stage_volume(CTX, "extract", rows=10, bytes=2048, rejected_rows=2)
    who = {"tenant": "retail", "pipeline": "sales"}
    assert sent == [("incr", "tenantflow.rows", 10, {**who, "stage": "extract"}),
                    ("incr", "tenantflow.bytes", 2048, {**who, "stage": "extract"}),
                    ("incr", "tenantflow.rejected_rows", 2, who)]


def test_freshness_is_not_sent_for_a_table_never_loaded(sent):
    emit.table_freshness(CTX, last_load=None, now=dt.datetime.now(dt.UTC))
    assert sent == []


def test_emitting_never_fails_the_task(monkeypatch, caplog):
    from airflow.sdk.observability.stats import Stats

    def broken(*args, **kwargs):
        raise OSError("statsd host unreachable")

    monkeypatch.setattr(Stats, "incr", broken)
    with caplog.at_level(logging.WARNING, logger="tenantflow.metrics.emit"):
        emit.stage_volume(CTX, "land", rows=5)  # no exception
        emit.stage_volume(CTX, "transform", rows=5)  # a bad label: no exception either
    assert [r.getMessage().split(" ")[4] for r in caplog.records] == ["tenantflow.rows=5"] * 2


def test_part_bytes_needs_every_parts_size():
    assert emit.part_bytes([{"bytes": 10}, {"bytes": 5}]) == 15
    assert emit.part_bytes([{"bytes": 10}, {}]) is None  # a manifest written before part records
    assert emit.part_bytes([]) is None


def _snapshot(ms: int, **summary: str):
    return SimpleNamespace(timestamp_ms=ms, summary=SimpleNamespace(additional_properties=summary))


def test_last_load_is_the_newest_snapshot_naming_a_run_not_a_later_compaction():
    table = SimpleNamespace(snapshots=lambda: [
        _snapshot(1_000, **{"tenantflow.run-id": "r1"}), _snapshot(5_000, **{"tenantflow.run-id": "r2"}),
        _snapshot(9_000, **{"tenantflow.state": "s3://x/state.json"})])  # compaction: carries the state only
    assert last_load_time(table) == dt.datetime.fromtimestamp(5, tz=dt.UTC)
    assert last_load_time(SimpleNamespace(snapshots=lambda: [_snapshot(9_000)])) is None
