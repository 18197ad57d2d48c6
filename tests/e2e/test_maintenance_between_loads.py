"""Table maintenance between every two loads, through Airflow: the tables stay equal to their sources.

Three pipelines of the demo, one per write mode: ``retail__sales`` (files, append), ``finance__orders``
(SQL, merge) and ``finance__customers`` (SQL, overwrite). Maintenance is set as aggressive as the
platform's bounds allow (expire everything older than a second but the newest snapshot and the one
holding the load state; compact as soon as two small files share a partition), and the tenants'
maintenance DAGs run after every round of loads.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from conftest import run_cli
from e2e.helpers import demo_tree, last_run_id, open_table, run_dag

pytestmark = pytest.mark.e2e

AGGRESSIVE = """
maintenance:
  snapshot_retention: {expire_after: 1s, keep_last: 1}
  compaction: {min_input_files: 2}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_db):
    import shutil

    root = tmp_path_factory.mktemp("maintenance")
    home, env = demo_tree(root)
    # its own copy of the migrated metadata DB: its many runs stay out of other tests' run listings
    shutil.copy(airflow_db, root / "airflow.db")
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{root / 'airflow.db'}"
    for tenant in ("retail", "finance"):
        config = root / "tenant_configs" / tenant / "tenant.yaml"
        config.write_text(config.read_text() + AGGRESSIVE)
    erp = home / "sources" / "finance" / "erp.db"
    env.update({
        "AIRFLOW_CONN_FINANCE__ERP": f'{{"conn_type": "sqlite", "host": "{erp}"}}',
        "AIRFLOW_CONN_FINANCE__PII": '{"conn_type": "generic", "password": "finance-test-hmac-key-0123456789"}',
    })
    run_cli("tenantflow", "sync", env=env)
    return {"env": env, "home": home, "erp": erp}


def run(dag_id: str, date: str, env: dict[str, str]) -> str:
    result = run_dag(dag_id, date, env=env)
    output = result.stdout + result.stderr
    assert "state=success" in output, f"{dag_id} {date}:\n{output[-4000:]}"
    return output


def table(identifier: str, stack):
    os.environ["TENANTFLOW_CONFIG_DIR"], saved = stack["env"]["TENANTFLOW_CONFIG_DIR"], os.environ[
        "TENANTFLOW_CONFIG_DIR"]
    try:
        return open_table(identifier, str(stack["home"]))
    finally:
        os.environ["TENANTFLOW_CONFIG_DIR"] = saved


def source_sales(home: Path) -> list[int]:
    files = sorted((home / "sources" / "retail" / "sales").glob("*.csv"))
    return sorted(i for f in files for i in pcsv.read_csv(f)["sale_id"].to_pylist())


def source(erp: Path, query: str) -> list[tuple]:
    with sqlite3.connect(erp) as db:
        return sorted(db.execute(query).fetchall())


def change_sources(stack, round_: int) -> None:
    """New sales file; orders updated and inserted; customers updated, inserted and deleted."""
    home, erp = stack["home"], stack["erp"]
    day = f"2026-12-{round_:02d}"
    (home / "sources" / "retail" / "sales" / f"sales_{day}.csv").write_text(
        "sale_id,store_id,sku,quantity,unit_price,sold_at,channel\n"
        + "".join(f"{800_000 + round_ * 100 + i},1,SKU-00001,1,9.99,{day}T10:00:00,store\n" for i in range(20)))
    with sqlite3.connect(erp) as db:
        db.execute("UPDATE orders SET amount = amount + 1, updated_at = '2026-11-30 12:00:00' WHERE order_id <= 50")
        first = db.execute("SELECT max(order_id) FROM orders").fetchone()[0] + 1
        db.executemany("INSERT INTO orders VALUES (?, 1, '2026-11-30', 10.0, 'EUR', 'placed', '2026-11-30 12:00:00')",
                       [(first + i,) for i in range(30)])
        db.execute("UPDATE customers SET name = name || ' (moved)' WHERE customer_id <= 5")
        db.execute("DELETE FROM customers WHERE customer_id = (SELECT max(customer_id) FROM customers)")
        last = db.execute("SELECT max(customer_id) FROM customers").fetchone()[0]
        db.executemany("INSERT INTO customers (customer_id, name, email, country, segment, created_at) "
                       "VALUES (?, ?, ?, 'DE', 'retail', '2026-11-30 12:00:00')",
                       [(last + 10 + i, f"New {round_}-{i}", f"new{round_}.{i}@example.com") for i in range(3)])


def maintain(stack) -> None:
    time.sleep(1.5)  # every snapshot is now older than expire_after
    for tenant in ("retail", "finance"):
        run(f"{tenant}__maintenance", "2026-12-09", stack["env"])


def assert_tables_equal_sources(stack) -> None:
    sales = sorted(table("retail.sales", stack).scan().to_arrow()["sale_id"].to_pylist())
    assert sales == source_sales(stack["home"]), "sales: every source row exactly once"

    orders = table("finance.orders", stack).scan().to_arrow()
    quarantine = table("finance.orders__quarantine", stack) if _exists("finance.orders__quarantine", stack) else None
    set_aside = set(quarantine.scan().to_arrow()["order_id"].to_pylist()) if quarantine else set()
    expected = [r for r in source(stack["erp"], "SELECT order_id, amount, status FROM orders")
                if r[0] not in set_aside]
    got = sorted(zip(orders["order_id"].to_pylist(), orders["amount"].to_pylist(), orders["status"].to_pylist(),
                     strict=True))
    assert got == expected, "orders: the merge result equals the source (less quarantined rows)"

    customers = table("finance.customers", stack).scan().to_arrow()
    assert sorted(zip(customers["customer_id"].to_pylist(), customers["name"].to_pylist(), strict=True)) == source(
        stack["erp"], "SELECT customer_id, name FROM customers"), "customers: the last overwrite equals the source"


def _exists(identifier: str, stack) -> bool:
    try:
        table(identifier, stack)
    except Exception:  # noqa: BLE001 - NoSuchTableError from the catalog
        return False
    return True


def test_maintenance_between_every_two_loads_keeps_tables_equal_to_sources(stack):
    dags = ("retail__sales", "finance__orders", "finance__customers")
    for round_ in (1, 2):  # a load, maintenance, changed sources, a load, maintenance, then one more load
        if round_ > 1:
            change_sources(stack, round_)
        last_runs = {}
        for dag_id in dags:
            run(dag_id, f"2026-12-0{round_}", stack["env"])
            last_runs[dag_id] = last_run_id(dag_id, env=stack["env"])
        assert_tables_equal_sources(stack)
        maintain(stack)
        assert_tables_equal_sources(stack)
    run("retail__sales", "2026-12-08", stack["env"])  # nothing new: the expired snapshots' files are not read again
    assert_tables_equal_sources(stack)

    from tenantflow.loading import state

    for dag_id, identifier in zip(dags, ("retail.sales", "finance.orders", "finance.customers"), strict=True):
        t = table(identifier, stack)
        assert len(t.snapshots()) <= 3, f"{identifier}: expired down to the newest and the load-state snapshot"
        assert state.read_state(t).has_run(last_runs[dag_id]), f"{identifier}: its last run is known as committed"
    sales = table("retail.sales", stack)
    assert len(state.loaded_files(sales)) == len(list((stack["home"] / "sources" / "retail" / "sales").glob("*.csv")))
    orders_files = table("finance.orders", stack).inspect.files().num_rows
    currencies = len(set(table("finance.orders", stack).scan().to_arrow()["currency"].to_pylist()))
    assert orders_files == currencies, "orders: compacted to one file per currency partition"


def test_the_maintenance_runs_and_loads_are_in_the_trail(stack):
    """After the test above: the maintenance DAG's work recorded as the platform's, the merges' deleted rows."""
    import json

    out = run_cli("tenantflow", "audit", "finance", "--format", "json", env=stack["env"]).stdout
    records = json.loads(out[out.index("["):])
    maintenance = [r for r in records if r["action"] == "maintenance"]
    assert maintenance and {r["actor"] for r in maintenance} == {"platform:maintenance"}
    orders = [r for r in maintenance if r["target"] == "finance.orders"]
    assert len(orders) == 2 and all({"files_removed", "files_added"} <= set(r["details"]["compact"]) for r in orders)
    assert sum(r["details"]["expire"]["snapshots_expired"] for r in orders) > 0, [r["details"] for r in orders]
    loads = [r for r in records if r["action"] == "load" and r["target"] == "finance.orders"]
    assert len(loads) == 2 and {r["actor"] for r in loads} == {"dag_test"}
    assert loads[1]["details"]["rows_deleted"] > 0, "the second merge rewrote rows: its snapshot says so"
    assert {r["details"]["method"] for r in records if r["target"] == "finance.customers.email"} == {"hash"}
