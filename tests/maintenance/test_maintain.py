"""maintain_table runs expiry, compaction and orphan removal on one table and returns a JSON-able summary."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from maintenance.conftest import age, crashed_load, files_on_disk, orders, sorted_rows
from tenantflow.maintenance import TablePolicy, maintain_table


def test_maintain_table_expires_compacts_and_removes_orphans(catalog):
    table = catalog.create_table("acme.orders", schema=orders(0, 1).schema)
    for n in range(20):
        table.append(orders(n * 10, 10))
    crashed = crashed_load(table, orders(1000, 5))
    for path in crashed:
        age(path, 4 * 24 * 3600)
    expected = sorted_rows(table)
    policy = TablePolicy(expire_older_than=timedelta(0), keep_last=1, min_input_files=5,
                               orphan_older_than=timedelta(days=3))

    summary = maintain_table(table, policy)

    assert json.loads(json.dumps(summary)) == summary
    assert summary["table"] == "acme.orders"
    assert summary["expire"]["snapshots_expired"] == 19
    assert (summary["compact"]["files_removed"], summary["compact"]["files_added"]) == (20, 1)
    assert summary["orphans"]["files_deleted"] == len(crashed) == 1
    assert all(summary[step]["seconds"] >= 0 for step in ("expire", "compact", "orphans"))
    assert sorted_rows(table).equals(expected)
    assert len(table.snapshots()) == 2, "the snapshot before compaction is kept until the next run"
    assert len(files_on_disk(table, ".parquet")) == 21, "the small files stay for the kept snapshot"
    again = maintain_table(table, policy)
    assert again["expire"]["snapshots_expired"] == 1 and again["compact"]["files_removed"] == 0
    assert len(files_on_disk(table, ".parquet")) == 1 and sorted_rows(table).equals(expected)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("keep_last", 0, "keep_last must be at least 1"),
    ("min_input_files", 1, "min_input_files must be at least 2"),
    ("orphan_older_than", timedelta(minutes=5), "orphan_older_than must be at least 1:00:00"),
    ("target_file_size_bytes", 1000, "target_file_size_bytes must be at least 1 MiB"),
])
def test_policy_rejects_unsafe_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        TablePolicy(**{field: value})
