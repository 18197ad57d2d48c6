"""Behavioural tests for demo.data (the demo source generator)."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from demo.data import generate_demo_data, main

SCALE = 0.01
EXPECTED_KEYS = {
    "finance.orders", "finance.customers", "finance.fx_rates", "retail.sales",
    "retail.products", "healthcare.appointments", "healthcare.lab_results",
}
SALES_FILES = [f"sales_2026-11-0{d}.csv" for d in range(1, 6)]
LAB_UNITS = {"HBA1C": "%", "LDL": "mg/dL", "HDL": "mg/dL", "GLU": "mg/dL", "TSH": "mIU/L"}


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _actual_counts(src: Path) -> dict[str, int]:
    erp, clinic = src / "finance" / "erp.db", src / "healthcare" / "clinic.db"
    return {
        "finance.orders": _rows(erp, "SELECT COUNT(*) FROM orders")[0][0],
        "finance.customers": _rows(erp, "SELECT COUNT(*) FROM customers")[0][0],
        "finance.fx_rates": sum(len(_csv(p)) for p in (src / "finance" / "fx_rates").glob("*.csv")),
        "retail.sales": sum(len(_csv(p)) for p in (src / "retail" / "sales").glob("*.csv")),
        "retail.products": len(_ndjson(src / "retail" / "products.json")),
        "healthcare.appointments": _rows(clinic, "SELECT COUNT(*) FROM appointments")[0][0],
        "healthcare.lab_results": len(_ndjson(src / "healthcare" / "lab_results"
                                              / "lab_results_2026-11.json")),
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("demo")
    return root / "sources", generate_demo_data(root, scale=SCALE)


def test_returned_counts_match_written_data(demo: tuple[Path, dict[str, int]]) -> None:
    src, counts = demo
    assert set(counts) == EXPECTED_KEYS
    assert counts == _actual_counts(src)
    assert counts["finance.orders"] == 1_200
    assert counts["finance.customers"] == 50
    assert counts["retail.sales"] == 5 * 100
    assert counts["healthcare.appointments"] == 300
    assert counts["finance.fx_rates"] == (31 + 30) * 4  # not scaled


def test_expected_layout(demo: tuple[Path, dict[str, int]]) -> None:
    src, _ = demo
    assert sorted(p.name for p in (src / "retail" / "sales").iterdir()) == SALES_FILES
    assert sorted(p.name for p in (src / "finance" / "fx_rates").iterdir()) == [
        "fx_rates_2026-10.csv", "fx_rates_2026-11.csv"]
    assert not [p for p in src.rglob("*") if p.name.endswith(".tmp")]


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    generate_demo_data(tmp_path / "a", scale=SCALE, seed=7)
    generate_demo_data(tmp_path / "b", scale=SCALE, seed=7)
    generate_demo_data(tmp_path / "c", scale=SCALE, seed=8)
    a, b, c = (_hashes(tmp_path / x) for x in "abc")
    assert a and a == b
    assert set(a) == set(c)
    assert a["sources/finance/erp.db"] != c["sources/finance/erp.db"]
    sales = "sources/retail/sales/sales_2026-11-01.csv"
    assert a[sales] != c[sales]


def test_rerun_overwrites_without_duplicates(tmp_path: Path) -> None:
    first = generate_demo_data(tmp_path, scale=SCALE)
    before = _hashes(tmp_path)
    second = generate_demo_data(tmp_path, scale=SCALE)
    assert first == second == _actual_counts(tmp_path / "sources")
    assert _hashes(tmp_path) == before
    # A different scale into the same root replaces the data rather than appending to it.
    smaller = generate_demo_data(tmp_path, scale=SCALE / 2)
    assert smaller == _actual_counts(tmp_path / "sources")
    assert smaller["finance.orders"] == 600


def test_finance_invariants(demo: tuple[Path, dict[str, int]]) -> None:
    src, counts = demo
    erp = src / "finance" / "erp.db"
    orders = _rows(erp, "SELECT order_id, customer_id, order_date, amount, currency, status,"
                        " updated_at FROM orders ORDER BY order_id")
    assert [o[0] for o in orders] == list(range(1, counts["finance.orders"] + 1))
    for _, customer_id, order_date, amount, currency, status, updated_at in orders:
        assert 1 <= customer_id <= counts["finance.customers"]
        assert date(2026, 1, 1) <= date.fromisoformat(order_date) <= date(2026, 11, 28)
        assert 0.5 <= amount <= 5000 and amount == round(amount, 2)
        assert currency in {"EUR", "USD", "GBP"}
        assert status in {"placed", "shipped", "cancelled", "refunded"}
        assert datetime.strptime(updated_at, "%Y-%m-%d %H:%M:%S")
        assert updated_at >= order_date
    customers = _rows(erp, "SELECT email, country, segment, created_at FROM customers")
    emails = [c[0] for c in customers]
    assert len(set(emails)) == len(emails)
    for email, country, segment, created_at in customers:
        assert email.endswith("@example.com") and "." in email.split("@")[0]
        assert len(country) == 2 and country.isupper()
        assert segment in {"retail", "sme", "corporate"}
        datetime.strptime(created_at, "%Y-%m-%d %H:%M:%S")
    for month in ("2026-10", "2026-11"):
        path = src / "finance" / "fx_rates" / f"fx_rates_{month}.csv"
        assert path.read_text().splitlines()[0] == "rate_date,base,quote,rate"
        for row in _csv(path):
            assert row["rate_date"].startswith(month) and row["base"] == "EUR"
            assert row["quote"] in {"USD", "GBP", "CHF", "JPY"}
            assert len(row["rate"].split(".")[1]) == 6 and float(row["rate"]) > 0


def test_retail_invariants(demo: tuple[Path, dict[str, int]]) -> None:
    src, counts = demo
    products = _ndjson(src / "retail" / "products.json")
    skus = {p["sku"] for p in products}
    assert len(skus) == len(products)
    for p in products:
        assert "SKU-00001" <= p["sku"] <= "SKU-02000"
        assert p["category"] in {"grocery", "apparel", "electronics", "home"}
        assert isinstance(p["active"], bool) and p["name"]
        assert p["price"] > 0 and p["price"] == round(p["price"], 2)
    sale_ids: list[int] = []
    for name in SALES_FILES:
        path = src / "retail" / "sales" / name
        assert path.read_text().splitlines()[0] == (
            "sale_id,store_id,sku,quantity,unit_price,sold_at,channel")
        for row in _csv(path):
            sale_ids.append(int(row["sale_id"]))
            assert 1 <= int(row["store_id"]) <= 50
            assert row["sku"] in skus
            assert 1 <= int(row["quantity"]) <= 10
            assert 0.99 <= float(row["unit_price"]) <= 499.99
            assert len(row["unit_price"].split(".")[1]) == 2
            assert row["sold_at"].startswith(name[len("sales_"):-len(".csv")] + "T")
            datetime.strptime(row["sold_at"], "%Y-%m-%dT%H:%M:%S")
            assert row["channel"] in {"store", "online"}
    assert len(set(sale_ids)) == len(sale_ids) == counts["retail.sales"]
    assert sale_ids == list(range(1, len(sale_ids) + 1))


def test_healthcare_invariants(demo: tuple[Path, dict[str, int]]) -> None:
    src, _ = demo
    appointments = _rows(src / "healthcare" / "clinic.db",
                         "SELECT patient_id, clinic_id, scheduled_at, duration_min, status,"
                         " updated_at FROM appointments")
    for patient_id, clinic_id, scheduled_at, duration, status, updated_at in appointments:
        assert 1 <= patient_id <= 8000 and 1 <= clinic_id <= 12
        assert 5 <= duration <= 120
        assert status in {"booked", "completed", "no_show", "cancelled"}
        datetime.strptime(scheduled_at, "%Y-%m-%d %H:%M:%S")
        datetime.strptime(updated_at, "%Y-%m-%d %H:%M:%S")
        if status in {"completed", "no_show"}:
            assert updated_at > scheduled_at
    results = _ndjson(src / "healthcare" / "lab_results" / "lab_results_2026-11.json")
    assert len({r["result_id"] for r in results}) == len(results)
    for r in results:
        assert LAB_UNITS[r["test_code"]] == r["unit"]
        assert isinstance(r["value"], float) and r["value"] > 0
        assert 1 <= r["patient_id"] <= 8000
        assert r["collected_at"].startswith("2026-11-")
        datetime.strptime(r["collected_at"], "%Y-%m-%dT%H:%M:%S")


def test_rejects_non_positive_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_demo_data(tmp_path, scale=0)


def test_cli_main_writes_sources(tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path), "--scale", "0.001", "--seed", "3"]) == 0
    assert (tmp_path / "sources" / "finance" / "erp.db").is_file()
    assert _actual_counts(tmp_path / "sources")["finance.orders"] == 120


def test_full_scale_finance_orders(tmp_path: Path) -> None:
    counts = generate_demo_data(tmp_path, scale=1.0)
    assert counts["finance.orders"] >= 100_000
    n, min_amount, backdated = _rows(
        tmp_path / "sources" / "finance" / "erp.db",
        "SELECT COUNT(*), MIN(amount), SUM(updated_at < order_date) FROM orders")[0]
    assert n == counts["finance.orders"]
    assert min_amount >= 0 and backdated == 0
