"""Generate deterministic, realistic demo source data for the three demo tenants.

Writes SQLite, CSV and NDJSON sources under ``root/sources/<tenant>/``. Each file goes to a
temporary sibling and is moved into place with ``os.replace``, so re-running is idempotent.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BASE_COUNTS: dict[str, int] = {  # rows at scale=1.0; retail.sales is per daily file (5 files)
    "finance.orders": 120_000, "finance.customers": 5_000, "retail.sales": 10_000,
    "retail.products": 2_000, "healthcare.appointments": 30_000, "healthcare.lab_results": 10_000,
}
NOW = datetime(2026, 11, 30, 23, 59, 59)  # "current time" of the demo world
N_PATIENTS, N_CLINICS, N_STORES = 8_000, 12, 50

FIRST_NAMES = tuple(
    "anna ben clara david emma felix greta hugo ines jonas katrin lars maria noah olivia paul "
    "quinn rosa simon tara ulrich vera william xenia yusuf zoe liam sofia mateo chloe lucas "
    "amelia elias nora oscar ida leon mila henry lea".split())
LAST_NAMES = tuple(
    "schmidt muller dubois martin rossi garcia smith jones brown jansen devries nowak kowalski "
    "silva santos novak horvat berg larsen nielsen murphy kelly moreau lefebvre ricci romano "
    "fischer weber meyer wagner becker hoffmann taylor wilson evans lopez fernandez peeters "
    "maes andersson".split())
COUNTRIES = (("DE", 22), ("FR", 15), ("NL", 10), ("GB", 12), ("US", 10), ("ES", 8),
             ("IT", 8), ("BE", 4), ("AT", 3), ("CH", 3), ("SE", 2), ("PL", 2), ("IE", 1))
CURRENCIES = (("EUR", 60), ("USD", 25), ("GBP", 15))
ORDER_STATUSES = (("shipped", 74), ("placed", 15), ("cancelled", 7), ("refunded", 4))
SEGMENTS = (("retail", 70), ("sme", 22), ("corporate", 8))
FX_START = {"USD": 1.08, "GBP": 0.85, "CHF": 0.95, "JPY": 162.0}
# category -> ((min price, max price), adjectives, nouns)
PRODUCT_CATALOG: dict[str, tuple[tuple[float, float], list[str], list[str]]] = {
    "grocery": ((0.99, 29.99), "Organic|Fresh|Whole|Roasted|Wild|Classic".split("|"),
                "Oat Milk|Coffee Beans|Olive Oil|Pasta|Granola|Honey|Rice|Tea".split("|")),
    "apparel": ((9.99, 149.99), "Slim|Classic|Merino|Linen|Rain|Everyday".split("|"),
                "T-Shirt|Jeans|Sweater|Jacket|Socks|Scarf|Hoodie|Cap".split("|")),
    "electronics": ((19.99, 499.99), "Wireless|Smart|Portable|Pro|Compact|Ultra".split("|"),
                    "Headphones|Speaker|Charger|Keyboard|Mouse|Webcam|Monitor".split("|")),
    "home": ((4.99, 199.99), "Ceramic|Bamboo|Cotton|Cast Iron|Nordic|Soft".split("|"),
             "Mug|Cutting Board|Towel Set|Skillet|Lamp|Cushion|Vase|Throw".split("|")),
}
LAB_TESTS: dict[str, tuple[str, Callable[[random.Random], float]]] = {
    "HBA1C": ("%", lambda r: round(min(14.0, max(4.0, r.gauss(5.8, 0.9))), 1)),
    "LDL": ("mg/dL", lambda r: round(min(300.0, max(30.0, r.gauss(115.0, 35.0))), 1)),
    "HDL": ("mg/dL", lambda r: round(min(120.0, max(15.0, r.gauss(52.0, 14.0))), 1)),
    "GLU": ("mg/dL", lambda r: round(min(400.0, max(50.0, r.gauss(100.0, 22.0))), 1)),
    "TSH": ("mIU/L", lambda r: round(min(20.0, max(0.05, r.lognormvariate(0.55, 0.5))), 2)),
}

SCHEMAS: dict[str, tuple[str, ...]] = {  # SQLite table -> column definitions
    "customers": ("customer_id INTEGER PRIMARY KEY", "name TEXT", "email TEXT UNIQUE",
                  "country TEXT", "segment TEXT", "created_at TEXT"),
    "orders": ("order_id INTEGER PRIMARY KEY", "customer_id INTEGER", "order_date TEXT",
               "amount REAL CHECK (amount >= 0)", "currency TEXT", "status TEXT",
               "updated_at TEXT"),
    "appointments": ("appointment_id INTEGER PRIMARY KEY", "patient_id INTEGER",
                     "clinic_id INTEGER", "scheduled_at TEXT", "duration_min INTEGER",
                     "status TEXT", "updated_at TEXT"),
}
FxRow = tuple[str, str, str, str]
SALES_HEADER = ["sale_id", "store_id", "sku", "quantity", "unit_price", "sold_at", "channel"]


def _picker(rng: random.Random, weighted: Iterable[tuple[str, int]]) -> Callable[[], str]:
    values, weights = zip(*weighted, strict=True)
    return lambda: rng.choices(values, weights)[0]


def _ts(value: datetime, sep: str = " ") -> str:
    return value.replace(microsecond=0).isoformat(sep)


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a sibling temp file, then atomically move it onto ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_csv(target: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    _atomic_write(target, write)


def _write_ndjson(target: Path, records: Iterable[dict[str, Any]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(rec, separators=(",", ":")) + "\n" for rec in records)

    _atomic_write(target, write)


def _write_sqlite(target: Path, tables: dict[str, Iterable[tuple[Any, ...]]]) -> None:
    """Write ``{table: rows}`` (schemas from SCHEMAS) into a fresh SQLite database file."""

    def write(tmp: Path) -> None:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            for table, rows in tables.items():
                columns = SCHEMAS[table]
                conn.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
                marks = ", ".join("?" * len(columns))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            conn.commit()
        finally:
            conn.close()

    _atomic_write(target, write)


def _customers(rng: random.Random, n: int) -> Iterator[tuple[Any, ...]]:
    country, segment = _picker(rng, COUNTRIES), _picker(rng, SEGMENTS)
    seen: dict[str, int] = {}
    start = datetime(2020, 1, 1)
    span = int((datetime(2025, 12, 31) - start).total_seconds())
    for customer_id in range(1, n + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}"
        seen[local] = seen.get(local, 0) + 1
        suffix = "" if seen[local] == 1 else str(seen[local])
        created = start + timedelta(seconds=rng.randrange(span))
        yield (customer_id, f"{first.title()} {last.title()}", f"{local}{suffix}@example.com",
               country(), segment(), _ts(created))


def _orders(rng: random.Random, n: int, n_customers: int) -> Iterator[tuple[Any, ...]]:
    currency, status = _picker(rng, CURRENCIES), _picker(rng, ORDER_STATUSES)
    first_day = date(2026, 1, 1)
    n_days = (date(2026, 11, 28) - first_day).days + 1
    for order_id in range(1, n + 1):
        day = first_day + timedelta(days=rng.randrange(n_days))
        amount = round(min(5000.0, max(0.5, rng.lognormvariate(4.2, 1.1))), 2)
        updated = datetime.combine(day, time()) + timedelta(seconds=rng.randrange(14 * 86_400))
        yield (order_id, rng.randint(1, n_customers), day.isoformat(), amount,
               currency(), status(), _ts(min(updated, NOW)))


def _fx_rates(rng: random.Random, months: list[tuple[int, int]]) -> dict[str, list[FxRow]]:
    """Daily EUR-based rates as a gentle random walk, continuous across months."""
    rates = dict(FX_START)
    out: dict[str, list[FxRow]] = {}
    for year, month in months:
        rows: list[FxRow] = []
        day = date(year, month, 1)
        while day.month == month:
            for quote in ("USD", "GBP", "CHF", "JPY"):
                rates[quote] *= 1.0 + rng.gauss(0.0, 0.004)
                rows.append((day.isoformat(), "EUR", quote, f"{rates[quote]:.6f}"))
            day += timedelta(days=1)
        out[f"{year:04d}-{month:02d}"] = rows
    return out


def _products(rng: random.Random, n: int) -> list[dict[str, Any]]:
    products = []
    for i in range(1, n + 1):
        category = rng.choice(list(PRODUCT_CATALOG))
        (low, high), adjectives, nouns = PRODUCT_CATALOG[category]
        raw = rng.uniform(low, high)
        price = int(raw) + 0.99 if rng.random() < 0.7 else round(raw, 2)  # mostly x.99 pricing
        products.append({"sku": f"SKU-{i:05d}", "category": category,
                         "name": f"{rng.choice(adjectives)} {rng.choice(nouns)}",
                         "price": round(min(high, price), 2), "active": rng.random() < 0.92})
    return products


def _sales(rng: random.Random, day: date, n: int, first_id: int,
           products: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    midnight = datetime.combine(day, time())
    # Online sales happen around the clock, store sales during opening hours 08:00-22:00.
    events = sorted((rng.randrange(86_400), "online") if rng.random() < 0.3
                    else (rng.randrange(8 * 3600, 22 * 3600), "store") for _ in range(n))
    for offset, (secs, channel) in enumerate(events):
        product = rng.choice(products)
        discount = rng.choice((1.0, 1.0, 1.0, 1.0, 0.9, 0.8))
        unit_price = max(0.99, min(499.99, round(product["price"] * discount, 2)))
        quantity = min(10, max(1, int(rng.expovariate(0.6)) + 1))
        yield (first_id + offset, rng.randint(1, N_STORES), product["sku"], quantity,
               f"{unit_price:.2f}", _ts(midnight + timedelta(seconds=secs), "T"), channel)


def _appointments(rng: random.Random, n: int) -> Iterator[tuple[Any, ...]]:
    """Aug-Dec 2026 appointments; those after NOW are still booked (or cancelled)."""
    durations, dur_weights = (5, 10, 15, 20, 30, 45, 60, 90, 120), (3, 10, 30, 20, 20, 8, 6, 2, 1)
    for appointment_id in range(1, n + 1):
        day = date(2026, 8, 3) + timedelta(days=rng.randrange(150))
        if day.weekday() >= 5:  # clinics are closed at weekends: move to the Friday before
            day -= timedelta(days=day.weekday() - 4)
        slot = rng.randrange(8 * 4, 18 * 4)  # 15-minute slots 08:00..17:45
        scheduled = datetime.combine(day, time(slot // 4, (slot % 4) * 15))
        duration = rng.choices(durations, dur_weights)[0]
        booked_at = min(scheduled - timedelta(minutes=rng.randrange(60, 45 * 1440)),
                        NOW - timedelta(minutes=rng.randrange(60, 30 * 1440)))
        status = (rng.choices(("completed", "no_show", "cancelled"), (85, 7, 8))[0]
                  if scheduled <= NOW else rng.choices(("booked", "cancelled"), (92, 8))[0])
        updated = {"completed": scheduled + timedelta(minutes=duration + rng.randrange(30)),
                   "no_show": scheduled + timedelta(minutes=rng.randrange(15, 240)),
                   "cancelled": booked_at + (min(scheduled, NOW) - booked_at) * rng.random(),
                   "booked": booked_at}[status]
        yield (appointment_id, rng.randint(1, N_PATIENTS), rng.randint(1, N_CLINICS),
               _ts(scheduled), duration, status, _ts(min(updated, NOW)))


def _lab_results(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    for result_id in range(1, n + 1):
        code = rng.choice(list(LAB_TESTS))
        unit, sample = LAB_TESTS[code]
        morning = datetime(2026, 11, rng.randint(1, 30), 7)  # samples drawn 07:00-12:00
        collected = morning + timedelta(seconds=rng.randrange(5 * 3600))
        yield {"result_id": result_id, "patient_id": rng.randint(1, N_PATIENTS), "test_code": code,
               "value": sample(rng), "unit": unit, "collected_at": _ts(collected, "T")}


def generate_demo_data(root: Path, *, scale: float = 1.0, seed: int = 7) -> dict[str, int]:
    """Write all demo sources under root/sources/<tenant>/...; idempotent (overwrites atomically:
    write to a temp file then os.replace). Returns {"finance.orders": n, ...} row counts per
    dataset."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    sources = Path(root) / "sources"
    master = random.Random(seed)
    # One independent stream per dataset, so one dataset's size never shifts another's values.
    rngs = {name: random.Random(master.getrandbits(64)) for name in (
        "customers", "orders", "fx", "products", "sales", "appointments", "lab_results")}
    n = {key: max(1, int(base * scale)) for key, base in BASE_COUNTS.items()}
    per_file = n["retail.sales"]

    _write_sqlite(sources / "finance" / "erp.db", {
        "customers": _customers(rngs["customers"], n["finance.customers"]),
        "orders": _orders(rngs["orders"], n["finance.orders"], n["finance.customers"])})
    fx = _fx_rates(rngs["fx"], [(2026, 10), (2026, 11)])
    for month, rows in fx.items():
        _write_csv(sources / "finance" / "fx_rates" / f"fx_rates_{month}.csv",
                   ["rate_date", "base", "quote", "rate"], rows)

    products = _products(rngs["products"], n["retail.products"])
    _write_ndjson(sources / "retail" / "products.json", products)
    for i in range(5):
        day = date(2026, 11, 1 + i)
        _write_csv(sources / "retail" / "sales" / f"sales_{day.isoformat()}.csv",
                   SALES_HEADER, _sales(rngs["sales"], day, per_file, 1 + i * per_file, products))

    appointments = _appointments(rngs["appointments"], n["healthcare.appointments"])
    _write_sqlite(sources / "healthcare" / "clinic.db", {"appointments": appointments})
    _write_ndjson(sources / "healthcare" / "lab_results" / "lab_results_2026-11.json",
                  _lab_results(rngs["lab_results"], n["healthcare.lab_results"]))

    counts = {**n, "retail.sales": 5 * per_file,
              "finance.fx_rates": sum(len(rows) for rows in fx.values())}
    log.info("demo data written under %s (scale=%s, seed=%s, %d rows)",
             sources, scale, seed, sum(counts.values()))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate tenantflow demo source data.")
    parser.add_argument("--root", type=Path, default=Path(".tenantflow"),
                        help="output root (./.tenantflow, where make demo keeps its state)")
    parser.add_argument("--scale", type=float, default=1.0, help="row-count multiplier (1.0)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    counts = generate_demo_data(args.root, scale=args.scale, seed=args.seed)
    for dataset, n in counts.items():
        log.info("%-26s %8d rows", dataset, n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
