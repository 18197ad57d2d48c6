"""Quarantine retention: rows quarantined longer ago than the maximum age are deleted, younger rows stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from tenantflow.config.models import CatalogSettings
from tenantflow.quality.quarantine import expire_quarantine
from tenantflow.quality.store import QualityStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    return open_catalog("test", settings, str(tmp_path))


def _failing(ids: list[int], quarantined_at: datetime | list[datetime], run_id: str) -> pa.Table:
    n = len(ids)
    times = quarantined_at if isinstance(quarantined_at, list) else [quarantined_at] * n
    return pa.table({
        "order_id": pa.array(ids, pa.int64()),
        "_rule": ["range(amount)"] * n,
        "_reason": ["amount is outside [0, inf]"] * n,
        "_run_id": [run_id] * n,
        "_quarantined_at": pa.array(times, pa.timestamp("us", tz="UTC")),
    })


@pytest.fixture
def quarantine(catalog):
    """finance.orders__quarantine as the quality task writes it: one append per run."""
    store = QualityStore(catalog, "finance")
    for ids, days_ago, run in (([1, 2], 100, "run-1"), ([3], 91, "run-2"), ([4, 5], 89, "run-3"), ([6], 1, "run-4")):
        store.quarantine("orders", _failing(ids, NOW - timedelta(days=days_ago), run), pipeline="orders", run_id=run)
    # one file holding an old and a young row (as after a compaction): it is rewritten without the old one
    mixed = _failing([7, 8], [NOW - timedelta(days=120), NOW - timedelta(days=2)], "run-5")
    store.quarantine("orders", mixed, pipeline="orders", run_id="run-5")
    return catalog.load_table("finance.orders__quarantine")


def _ids(table) -> list[int]:
    return sorted(table.refresh().scan().to_arrow()["order_id"].to_pylist())


def test_rows_older_than_the_window_are_deleted(quarantine):
    deleted = expire_quarantine(quarantine, timedelta(days=90), now=NOW,
                                snapshot_properties={"tenantflow.run-id": "maintenance-1"})

    assert deleted == 4
    assert _ids(quarantine) == [4, 5, 6, 8], "rows quarantined 89, 2 and 1 days ago are inside 90 days"
    summary = quarantine.current_snapshot().summary
    assert summary["tenantflow.run-id"] == "maintenance-1", "the caller's state goes with the delete"
    assert summary["tenantflow.expired-quarantine-rows"] == "4"


def test_nothing_old_enough_commits_nothing(quarantine):
    snapshot = quarantine.current_snapshot().snapshot_id

    assert expire_quarantine(quarantine, timedelta(days=365), now=NOW) == 0
    assert quarantine.refresh().current_snapshot().snapshot_id == snapshot
    assert _ids(quarantine) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_a_table_without_quarantined_at_is_refused(catalog):
    catalog.create_namespace("finance")
    table = catalog.create_table("finance.orders", schema=pa.schema([("order_id", pa.int64())]))

    with pytest.raises(ValueError, match="has no '_quarantined_at' column: not a quarantine table"):
        expire_quarantine(table, timedelta(days=1), now=NOW)
