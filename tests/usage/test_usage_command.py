"""`tenantflow usage` on a real migrated metadata DB (SQLite and PostgreSQL), real landing manifests and a
real Iceberg table: the numbers are the ones computed by hand from the rows this test wrote."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from conftest import copy_config_tree, run_cli
from isolation.stack import drop_database, fresh_database
from usage.usage_db import insert_runs, ms

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
D0, D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY  # D2 = today: snapshots are made now
# big storage prices: the test's few KB must cost more than the 6 decimals reported
PRICES = {"currency": "EUR", "per_slot_hour": 2.0, "per_gb_month_stored": 3e6, "per_gb_landed": 1e6,
          "per_dbu": 0.5, "dbu_per_node_hour": 2.0}
GB, MONTH = 10**9, 30 * 86_400


def at(day: datetime, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return day + timedelta(hours=hh, minutes=mm, seconds=ss)


TRIES = [
    # finance: a retried task on D1 (300 s failed try + 600 s), a 2-slot task on D2, one that started on D0
    {"dag_id": "finance__orders", "task_id": "extract", "start": at(D1, 10), "end": at(D1, 10, 10), "pool_slots": 1,
     "earlier": [(at(D1, 9), at(D1, 9, 5))], "pool": "tenant_finance"},
    {"dag_id": "finance__orders", "task_id": "load", "start": at(D2, 1), "end": at(D2, 1, 30), "pool_slots": 2,
     "run_id": "scheduled_d2", "pool": "tenant_finance"},
    {"dag_id": "finance__orders", "task_id": "extract", "start": at(D0, 23, 59), "end": at(D1, 0, 9),
     "pool_slots": 1, "run_id": "scheduled_d0", "pool": "tenant_finance"},
    # healthcare: the databricks task on D2 (20 min in the pool; its run recorded 18 min on 5 nodes)
    {"dag_id": "healthcare__lab_results", "task_id": "databricks", "start": at(D2, 2), "end": at(D2, 2, 20),
     "pool_slots": 1, "pool": "tenant_healthcare"},
    # not a tenant's DAG: never counted
    {"dag_id": "platform_cleanup", "task_id": "x", "start": at(D2, 3), "end": at(D2, 4), "pool_slots": 8},
]
XCOMS = [{"dag_id": "healthcare__lab_results", "task_id": "databricks", "key": "tenantflow_usage",
          "timestamp": at(D2, 2, 20),
          "value": {"kind": "databricks_run", "databricks_run_id": 7, "cluster_id": "c-1", "nodes": 5,
                    "node_type": "pool-x", "start_ms": ms(at(D2, 2, 1)), "end_ms": ms(at(D2, 2, 19)),
                    "node_seconds": 18 * 60 * 5.0}}]
FINANCE_SLOT_SECONDS = {D1.date(): 300 + 600, D2.date(): 1800 * 2}
HEALTHCARE_SLOT_SECONDS = 1200
HEALTHCARE_NODE_SECONDS = 18 * 60 * 5


def _write_batch(landing: Path, pipeline: str, run_id: str, rows: int, landed_at: datetime | None) -> int:
    """A published raw batch (Parquet part + manifest, as land writes it); returns the part's bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tenantflow.landing.batch import BatchLocation, Manifest, write_manifest

    location = BatchLocation(str(landing), pipeline, run_id)
    Path(location.final).mkdir(parents=True)
    part = Path(location.final) / "part-00000.parquet"
    pq.write_table(pa.table({"id": list(range(rows))}), part)
    size = part.stat().st_size
    write_manifest(location, Manifest(
        run_id=run_id, pipeline_id=pipeline, rows=rows, files=[part.name], source="test",
        landed_at=landed_at.isoformat(timespec="seconds") if landed_at else None,
        parts=[{"name": part.name, "rows": rows, "bytes": size, "sha256": "-"}]))
    return size


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request, tmp_path_factory):
    root = copy_config_tree(tmp_path_factory.mktemp(f"usage-{request.param}"))
    platform_file = root / "tenant_configs" / "_platform.yaml"
    document = yaml.safe_load(platform_file.read_text())
    document["costs"] = PRICES
    platform_file.write_text(yaml.safe_dump(document, sort_keys=False))
    home = root / "home"
    url = (f"sqlite:///{root / 'airflow.db'}" if request.param == "sqlite" else fresh_database("usage"))
    env = {"TENANTFLOW_CONFIG_DIR": str(root / "tenant_configs"), "TENANTFLOW_HOME": str(home),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url, "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags")}
    run_cli("airflow", "db", "migrate", env=env)
    engine = sa.create_engine(url)
    insert_runs(engine, TRIES, XCOMS)

    landing = home / "landing" / "finance"
    landed = {D1.date(): _write_batch(landing, "orders", "run-d1", 100, at(D1, 6)),
              D2.date(): _write_batch(landing, "orders", "run-d2", 40, at(D2, 0, 30))}
    _write_batch(landing, "orders", "run-d0", 7, at(D0, 12))  # before --from
    (landing / "orders" / "run=unpublished-0").mkdir()  # no manifest: not a batch yet

    stored = _iceberg_table(home, env)
    yield {"env": env, "engine": engine, "landed": landed, "stored": stored, "root": root}
    engine.dispose()
    if request.param == "postgresql":
        drop_database(url)


def _iceberg_table(home: Path, env: dict[str, str]) -> dict[str, int]:
    """finance.usage_probe with two appends (30 + 20 rows) made now; sizes read from the files on disk."""
    import pyarrow as pa

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    config = load_platform(Path(env["TENANTFLOW_CONFIG_DIR"])).config
    catalog = open_catalog("local", config.catalogs["local"], str(home), tenant_id="finance")
    catalog.create_namespace_if_not_exists("finance")
    data = pa.table({"id": pa.array(range(30), pa.int64())})
    table = catalog.create_table("finance.usage_probe", schema=data.schema)
    table.append(data)
    table.append(data.slice(0, 20))
    table = catalog.load_table("finance.usage_probe")
    data_dir = Path(table.location().removeprefix("file://")) / "data"
    sizes = sorted(p.stat().st_size for p in data_dir.glob("*.parquet"))
    assert len(sizes) == 2
    return {"records": 50, "bytes": sum(sizes)}


def usage(platform, *args: str):
    return run_cli("tenantflow", "usage", *args, env=platform["env"])


def expected_finance_cost(platform, days: list) -> dict[str, float]:
    slot_seconds = sum(FINANCE_SLOT_SECONDS.get(d, 0) for d in days)
    landed = sum(platform["landed"].get(d, 0) for d in days)
    stored = platform["stored"]["bytes"]
    return {
        "slots": slot_seconds / 3600 * 2.0,
        "landing": landed / GB * PRICES["per_gb_landed"],
        "storage": stored * len(days) * 86_400 / GB / MONTH * PRICES["per_gb_month_stored"],
        "databricks": 0.0,
    }


def test_usage_counts_exactly_what_the_rows_say(platform):
    out = usage(platform, "--from", D1.date().isoformat(), "--to", D2.date().isoformat(), "--format", "json")
    report = json.loads(out.stdout)
    assert report["currency"] == "EUR" and report["from"] == D1.date().isoformat()
    tenants = {t["tenant"]: t for t in report["tenants"]}
    assert set(tenants) == {"finance", "healthcare"}  # platform_cleanup is no tenant's; retail used nothing

    finance = tenants["finance"]
    assert finance["task_runs"] == 3  # two tries on D1 + one on D2; the D0 one is outside the period
    assert finance["slot_seconds"] == pytest.approx(300 + 600 + 3600)
    assert finance["run_seconds"] == pytest.approx(300 + 600 + 1800)
    assert finance["rows_landed"] == 140 and finance["batches_landed"] == 2
    assert finance["bytes_landed"] == sum(platform["landed"].values())
    assert finance["records_loaded"] == 50 and finance["commits"] == 2
    assert finance["bytes_loaded"] == platform["stored"]["bytes"]
    assert finance["stored_bytes"] == platform["stored"]["bytes"]
    want = expected_finance_cost(platform, [D1.date(), D2.date()])
    for component, value in want.items():
        assert finance["cost"][component] == pytest.approx(value, abs=1e-6), component
    assert finance["cost"]["total"] == pytest.approx(sum(want.values()), abs=1e-6)
    by_day = {d["day"]: d for d in finance["days"]}
    assert by_day[D1.date().isoformat()]["slot_seconds"] == pytest.approx(900)
    assert by_day[D2.date().isoformat()]["slot_seconds"] == pytest.approx(3600)

    healthcare = tenants["healthcare"]
    assert healthcare["slot_seconds"] == pytest.approx(HEALTHCARE_SLOT_SECONDS)
    assert healthcare["node_seconds"] == pytest.approx(HEALTHCARE_NODE_SECONDS)
    assert healthcare["databricks_runs"] == 1
    # 1.5 node-hours x 2 DBU/node-hour x 0.5 EUR/DBU; 1/3 slot-hour x 2 EUR
    assert healthcare["cost"]["databricks"] == pytest.approx(1.5)
    assert healthcare["cost"]["slots"] == pytest.approx(2 / 3)
    assert report["total"] == pytest.approx(finance["cost"]["total"] + healthcare["cost"]["total"], abs=1e-5)


def test_from_and_to_are_inclusive_utc_days(platform):
    only_d1 = {t["tenant"]: t for t in json.loads(usage(
        platform, "--from", D1.date().isoformat(), "--to", D1.date().isoformat(), "--format", "json").stdout
    )["tenants"]}
    assert set(only_d1) == {"finance"}
    assert only_d1["finance"]["slot_seconds"] == pytest.approx(900)  # the D0 try started before D1: not here
    assert only_d1["finance"]["rows_landed"] == 100 and only_d1["finance"]["records_loaded"] == 0
    assert only_d1["finance"]["cost"]["storage"] == pytest.approx(  # one day of what is stored
        platform["stored"]["bytes"] * 86_400 / GB / MONTH * PRICES["per_gb_month_stored"], abs=1e-6)

    from_d0 = {t["tenant"]: t for t in json.loads(usage(
        platform, "--from", D0.date().isoformat(), "--to", D0.date().isoformat(), "--format", "json").stdout
    )["tenants"]}
    assert from_d0["finance"]["slot_seconds"] == pytest.approx(600)  # charged to the day it started
    assert from_d0["finance"]["rows_landed"] == 7


def test_tenant_option_reports_one_tenant(platform):
    report = json.loads(usage(platform, "--from", D1.date().isoformat(), "--tenant", "healthcare",
                              "--format", "json").stdout)
    assert [t["tenant"] for t in report["tenants"]] == ["healthcare"]
    assert report["total"] == pytest.approx(1.5 + 2 / 3, abs=1e-6)


def test_csv_lines_sum_to_the_json_totals(platform):
    period = ("--from", D1.date().isoformat(), "--to", D2.date().isoformat())
    rows = list(csv.DictReader(io.StringIO(usage(platform, *period, "--format", "csv").stdout)))
    assert {(r["tenant"], r["day"]) for r in rows} == {
        ("finance", D1.date().isoformat()), ("finance", D2.date().isoformat()), ("healthcare", D2.date().isoformat())}
    report = json.loads(usage(platform, *period, "--format", "json").stdout)
    assert sum(float(r["cost_total"]) for r in rows) == pytest.approx(report["total"], abs=1e-5)
    assert sum(float(r["slot_seconds"]) for r in rows) == pytest.approx(900 + 3600 + 1200)


def test_table_names_tenants_and_the_total(platform):
    out = usage(platform, "--from", D1.date().isoformat(), "--to", D2.date().isoformat()).stdout
    report = json.loads(usage(platform, "--from", D1.date().isoformat(), "--to", D2.date().isoformat(),
                              "--format", "json").stdout)
    lines = out.splitlines()
    assert lines[0] == f"usage {D1.date()} .. {D2.date()} (UTC days)" and "COST EUR" in lines[1]
    finance = next(line for line in lines if line.startswith("finance "))
    assert re.search(r"\b1\.25\b", finance)  # slot-hours: (300 + 600 + 3600) s
    assert lines[-1].split()[-1] == f"{report['total']:,.2f}"


def test_plot_writes_a_png(platform, tmp_path):
    target = tmp_path / "charts" / "usage.png"
    usage(platform, "--from", D1.date().isoformat(), "--to", D2.date().isoformat(), "--plot", str(target))
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    assert (width, height) == (1400, 550) and len(data) > 20_000


def test_a_bad_date_is_a_clear_error(platform):
    result = run_cli("tenantflow", "usage", "--from", "2026-13-01", env=platform["env"], check=False)
    assert result.returncode == 2 and "--from '2026-13-01' is not a date: use YYYY-MM-DD" in result.stderr
    result = run_cli("tenantflow", "usage", "--from", D2.date().isoformat(), "--to", D1.date().isoformat(),
                     env=platform["env"], check=False)
    assert result.returncode == 2 and "--to must be on or after --from" in result.stderr


def test_month_to_date_for_the_dashboard(platform):
    from sqlalchemy.orm import Session

    from tenantflow.config.costs import CostModel
    from tenantflow.usage import month_to_date

    with Session(platform["engine"]) as session:
        costs = month_to_date(session, ["finance", "healthcare", "retail"], CostModel(**PRICES),
                              today=D2.date())
    first = D2.date().replace(day=1)
    finance_slots = sum(s for d, s in FINANCE_SLOT_SECONDS.items() if d >= first)
    finance_slots += 600 if D0.date() >= first else 0
    assert costs["finance"].slots == pytest.approx(finance_slots / 3600 * 2.0)
    assert costs["healthcare"].databricks == pytest.approx(1.5)
    assert costs["retail"].total == 0 and costs["retail"].currency == "EUR"
