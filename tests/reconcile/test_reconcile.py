"""The reconcile against a real PostgreSQL metadata DB, in real processes: two replicas at once, a replica
killed holding the lock, an invalid tenant, a removed tenant (retired, data kept, then an audited purge), and a
config tree that is not there."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from conftest import copy_config_tree, run_cli
from isolation.stack import drop_database, fresh_database

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def database() -> str:
    url = fresh_database("reconcile")
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def migrated(database: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"}
    run_cli("airflow", "db", "migrate", env=env)
    return env


@pytest.fixture
def env(migrated: dict[str, str], tmp_path: Path) -> dict[str, str]:
    copy_config_tree(tmp_path)
    return {**migrated, "AIRFLOW__TENANTFLOW__CONFIG_DIR": str(tmp_path / "tenant_configs"),
            "AIRFLOW__TENANTFLOW__DAGS_DIR": str(tmp_path / "dags" / "tenants"),
            "AIRFLOW__TENANTFLOW__HOME": str(tmp_path / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags")}


def query(env: dict[str, str], sql: str, *params) -> list[tuple]:
    dsn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def reconcile(env: dict[str, str], *args: str, check: bool = True):
    return run_cli("tenantflow", "reconcile", *args, env=env, check=check)


def summary(stdout: str) -> str:
    return next(line for line in reversed(stdout.splitlines()) if "change(s)" in line or "in sync" in line)


def test_two_replicas_reconciling_at_once_apply_the_tree_once(env, tmp_path):
    # each replica writes to files, not pipes: a replica holding the lock must never block on a full pipe
    # that nobody reads while the test waits for the other one
    logs = [(tmp_path / f"replica{i}.out", tmp_path / f"replica{i}.err") for i in range(2)]
    procs = []
    try:
        for out, err in logs:
            with out.open("w") as stdout, err.open("w") as stderr:
                procs.append(subprocess.Popen([str(BIN / "tenantflow"), "reconcile"], env={**os.environ, **env},
                                              stdout=stdout, stderr=stderr, text=True))
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    results = [(code, out.read_text(), err.read_text()) for code, (out, err) in zip(codes, logs, strict=True)]
    for code, out, err in results:
        assert code == 0, out[-2000:] + err[-3000:]
    summaries = sorted(summary(out) for _, out, _ in results)
    # whichever took the lock second found the first one's work done: nothing interleaved, nothing twice
    assert summaries[0].startswith("applied") or summaries[1].startswith("applied"), summaries
    assert sum(s == "no changes: in sync" for s in summaries) >= 1, summaries
    assert summary(reconcile(env).stdout) == "no changes: in sync"
    assert {r for (r,) in query(env, "SELECT pool FROM slot_pool")} >= {
        "tenant_finance", "tenant_retail", "tenant_healthcare"}


def test_a_replica_killed_while_holding_the_lock_does_not_block_the_next(env):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom tenantflow.reconcile.lock import reconcile_lock\n"
         "with reconcile_lock():\n    print('held', flush=True)\n    time.sleep(600)\n"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        blocked = subprocess.run(
            [sys.executable, "-c", "from tenantflow.reconcile.lock import LockBusy, reconcile_lock\n"
             "try:\n    reconcile_lock(wait_seconds=1).__enter__()\nexcept LockBusy as e:\n    print(e)\n"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        assert "another reconcile holds the lock" in blocked.stdout, blocked.stderr[-2000:]
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # PostgreSQL dropped the killed process's connection and, with it, the advisory lock
    assert reconcile(env).returncode == 0


def test_an_invalid_tenant_is_skipped_and_reported_while_the_others_are_applied(env):
    reconcile(env)
    config = Path(env["AIRFLOW__TENANTFLOW__CONFIG_DIR"])
    retail = config / "retail" / "tenant.yaml"
    retail.write_text(retail.read_text().replace("pool_slots:", "pool_slots: -3 #"))
    finance = config / "finance" / "tenant.yaml"
    slots = dict(query(env, "SELECT pool, slots FROM slot_pool"))["tenant_finance"]
    finance.write_text(finance.read_text().replace(f"pool_slots: {slots}", f"pool_slots: {slots + 1}"))
    out = reconcile(env).stdout
    assert "skipping tenant 'retail'" in out and "pool_slots" in out
    assert f"update pool tenant_finance (slots {slots} -> {slots + 1})" in out
    pools = dict(query(env, "SELECT pool, slots FROM slot_pool"))
    assert pools["tenant_finance"] == slots + 1 and "tenant_retail" in pools  # retail left as it was
    assert "retail_engineer" in {r for (r,) in query(env, "SELECT name FROM ab_role")}
    assert "retire tenant retail" not in out


def _iceberg_table(env: dict[str, str], identifier: str):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    platform = load_platform(Path(env["AIRFLOW__TENANTFLOW__CONFIG_DIR"])).config
    return open_catalog("local", platform.catalogs["local"], env["AIRFLOW__TENANTFLOW__HOME"],
                        tenant_id=identifier.partition(".")[0])


def test_a_removed_tenant_is_retired_with_its_data_kept_until_an_audited_purge(env):
    import pyarrow as pa

    reconcile(env)
    run_cli("airflow", "dags", "reserialize", env=env)
    run_cli("airflow", "dags", "unpause", "retail__sales", env=env)
    home = Path(env["AIRFLOW__TENANTFLOW__HOME"])
    landed = home / "landing" / "retail" / "sales" / "batch-1" / "part-0.parquet"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(b"PAR1 stand-in bytes")
    catalog = _iceberg_table(env, "retail.sales")
    catalog.create_table("retail.sales", pa.schema([("id", pa.int64())])).append(pa.table({"id": [1, 2, 3]}))

    pipelines = Path(env["AIRFLOW__TENANTFLOW__CONFIG_DIR"]) / "retail" / "pipelines"
    retail_dags = len(list(pipelines.glob("*.yaml"))) + 1  # its pipelines + maintenance
    shutil.rmtree(Path(env["AIRFLOW__TENANTFLOW__CONFIG_DIR"]) / "retail")
    (Path(env["AIRFLOW__TENANTFLOW__DAGS_DIR"]) / "retail.py").unlink()
    out = reconcile(env).stdout
    assert "delete pool tenant_retail (tenant removed)" in out
    assert f"retire tenant retail: paused {retail_dags} DAG(s)" in out and "--purge retail --confirm retail" in out
    assert not {r for (r,) in query(env, "SELECT name FROM ab_role") if r.startswith("retail_")}
    assert query(env, "SELECT dag_id FROM dag WHERE dag_id LIKE 'retail%%' AND NOT is_paused") == []
    assert landed.exists() and catalog.load_table("retail.sales").scan().to_arrow().num_rows == 3
    assert "retail: retired" in run_cli("tenantflow", "offboard", env=env).stdout

    refused = run_cli("tenantflow", "offboard", "--purge", "retail", "--confirm", "finance", env=env, check=False)
    assert refused.returncode == 1 and "repeat the tenant id as --confirm retail" in refused.stdout
    assert landed.exists() and catalog.table_exists("retail.sales")
    not_retired = run_cli("tenantflow", "offboard", "--purge", "finance", "--confirm", "finance", env=env,
                          check=False)
    assert not_retired.returncode == 1 and "still has a config folder" in not_retired.stdout

    purged = run_cli("tenantflow", "offboard", "--purge", "retail", "--confirm", "retail", "--operator", "ops-jane",
                     env=env).stdout
    assert "dropped table retail.sales" in purged and "purged tenant retail" in purged
    assert not landed.exists() and not catalog.table_exists("retail.sales")
    assert ("retail",) not in catalog.list_namespaces()
    events = {event: (owner, json.loads(extra)) for event, owner, extra in query(
        env, "SELECT event, owner, extra FROM log WHERE event LIKE 'tenantflow.tenant.%%'")}
    assert events["tenantflow.tenant.retired"][1]["kept"]["namespace"] == "retail"
    assert events["tenantflow.tenant.purged"][0] == "cli:ops-jane"
    assert events["tenantflow.tenant.purged"][1]["tables"] == ["retail.sales"]
    assert query(env, "SELECT dag_id FROM dag WHERE dag_id LIKE 'retail%%'") == []
    # the tenant's audit trail outlives the purge (the platform's table): retirement's prune and the purge
    out = run_cli("tenantflow", "audit", "retail", "--format", "json", env=env).stdout
    trail = {(r["action"], r["target"]): r for r in json.loads(out[out.index("["):])}
    purge = trail[("offboard.purge", "local:retail")]
    assert purge["actor"] == "cli:ops-jane" and purge["details"]["tables_dropped"] == ["retail.sales"]
    assert ("sync.delete_pool", "tenant_retail") in trail and ("sync.delete_role", "retail_admin") in trail


def test_a_config_tree_that_is_not_there_changes_nothing(env, tmp_path):
    reconcile(env)
    before = sorted(query(env, "SELECT pool, slots FROM slot_pool"))
    gone = {**env, "AIRFLOW__TENANTFLOW__CONFIG_DIR": str(tmp_path / "not-synced-yet")}
    result = reconcile(gone, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not-synced-yet does not exist" in result.stderr.splitlines()[-1]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("tenantflow", "sync", "--prune", env={**env, "AIRFLOW__TENANTFLOW__CONFIG_DIR": str(empty)},
                     check=False)
    assert result.returncode == 1 and "has no _platform.yaml" in result.stderr.splitlines()[-1]
    assert sorted(query(env, "SELECT pool, slots FROM slot_pool")) == before
