from __future__ import annotations

import json

import pyarrow as pa

from tenantflow.pii.scan import sample_indices, scan_table


def _orders(rows: int) -> pa.Table:
    return pa.table(
        {
            "order_id": [f"ORD-2024-{i:06d}" for i in range(rows)],
            "email": [None if i % 7 == 0 else f"user{i}@example.com" for i in range(rows)],
            "comment": [f"please call +44 20 7946 {i % 10000:04d}" if i % 4 == 0 else "ok" for i in range(rows)],
            "amount": pa.array([i * 1.5 for i in range(rows)]),
            "shipped": [f"2024-01-{i % 28 + 1:02d}" for i in range(rows)],
        }
    )


def test_findings_per_string_column_with_counts_and_masked_example() -> None:
    findings = scan_table(_orders(1000), sample_rows=200, min_ratio=0.1)
    by_column = {f.column: f for f in findings}
    assert set(by_column) == {"email", "comment"}
    email = by_column["email"]
    # rows 0, 5, 10, ... are sampled; every 35th of them has a NULL email, which does not count
    non_null = sum(1 for i in range(0, 1000, 5) if i % 7)
    assert (email.pii_type, email.match, email.sampled, email.matched, email.ratio) == (
        "email",
        "value",
        non_null,
        non_null,
        1.0,
    )
    assert email.example.startswith("u***@example.com")
    comment = by_column["comment"]
    assert (comment.pii_type, comment.match, comment.sampled) == ("phone", "contains", 200)
    assert comment.matched == sum(1 for i in range(0, 1000, 5) if i % 4 == 0) == 50 and comment.ratio == 0.25
    assert comment.example.endswith("0000") and "7946" not in comment.example


def test_sampling_is_deterministic_and_spread_over_the_batch() -> None:
    assert sample_indices(10, 100) == list(range(10))
    assert sample_indices(1000, 4) == [0, 250, 500, 750]
    table = _orders(5000)
    assert scan_table(table, sample_rows=300) == scan_table(table, sample_rows=300)


def test_min_ratio_threshold() -> None:
    table = pa.table({"mixed": ["a@example.com"] + ["n/a"] * 9})
    assert [f.column for f in scan_table(table, min_ratio=0.1)] == ["mixed"]
    assert scan_table(table, min_ratio=0.2) == []


def test_column_with_two_pii_types_yields_two_findings() -> None:
    table = pa.table({"contact": ["a@example.com", "+14155552671", "b@example.com", "+442079460958"]})
    assert [(f.pii_type, f.matched) for f in scan_table(table, min_ratio=0.4)] == [("email", 2), ("phone", 2)]


def test_non_string_and_empty_inputs() -> None:
    assert scan_table(pa.table({"n": [4242424242424242, 1]})) == []  # only string columns are scanned
    assert scan_table(pa.table({"e": pa.array([], pa.string())})) == []
    assert scan_table(pa.table({"e": pa.array([None, None], pa.string())})) == []
    dictionary = pa.table({"e": pa.array(["x@example.com"] * 3).dictionary_encode()})
    assert [f.pii_type for f in scan_table(dictionary)] == ["email"]


def test_findings_serialise_without_raw_values() -> None:
    findings = scan_table(_orders(100))
    payload = json.dumps([f.as_dict() for f in findings])
    assert "user1@example.com" not in payload and "7946" not in payload
    assert '"pii_type": "email"' in payload
