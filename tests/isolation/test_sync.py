"""`tenantflow sync` against a real migrated metadata DB: pools, roles, per-DAG permissions, users."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli


@pytest.fixture
def env(config_tree: Path, tmp_path: Path) -> dict[str, str]:
    env = {
        "TENANTFLOW_CONFIG_DIR": str(config_tree / "tenant_configs"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(config_tree / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    run_cli("airflow", "db", "migrate", env=env)
    return env


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def pools(env) -> dict[str, int]:
    with _db(env) as db:
        return dict(db.execute("SELECT pool, slots FROM slot_pool"))


def role_permissions(env, role: str) -> set[tuple[str, str]]:
    with _db(env) as db:
        return set(db.execute(
            """SELECT p.name, v.name FROM ab_role r
               JOIN ab_permission_view_role pvr ON pvr.role_id = r.id
               JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id
               JOIN ab_permission p ON p.id = pv.permission_id
               JOIN ab_view_menu v ON v.id = pv.view_menu_id
               WHERE r.name = ?""", (role,)))


def roles(env) -> set[str]:
    with _db(env) as db:
        return {r for (r,) in db.execute("SELECT name FROM ab_role")}


def user_roles(env, username: str) -> set[str]:
    with _db(env) as db:
        return {r for (r,) in db.execute(
            "SELECT r.name FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id "
            "JOIN ab_role r ON r.id = ur.role_id WHERE u.username = ?", (username,))}


def sync(env, *args: str) -> str:
    return run_cli("tenantflow", "sync", *args, env=env).stdout


def test_dry_run_plans_everything_and_changes_nothing(env):
    out = sync(env, "--dry-run")
    assert "~ create pool tenant_finance (slots=4)" in out
    assert "~ create role finance_engineer" in out
    assert "~ grant finance_engineer: can_edit on DAG:finance__orders" in out
    assert "tenant_finance" not in pools(env)
    assert "finance_engineer" not in roles(env)


def test_sync_creates_isolated_roles_and_is_idempotent(env):
    first = sync(env, "--demo-users")
    assert "applied" in first
    assert pools(env)["tenant_finance"] == 4 and pools(env)["tenant_healthcare"] == 2
    engineer = role_permissions(env, "finance_engineer")
    assert ("can_edit", "DAG:finance__orders") in engineer
    assert ("can_create", "DAG Run:finance__orders") in engineer
    assert not any(res.startswith(("DAG:retail", "DAG:healthcare")) for _, res in engineer)
    assert ("can_read", "DAGs") not in engineer, "a global DAGs permission would expose every tenant"
    analyst = role_permissions(env, "finance_analyst")
    assert ("can_read", "DAG:finance__orders") in analyst and ("can_edit", "DAG:finance__orders") not in analyst
    assert ("can_read", "Task Logs") not in analyst and ("can_read", "XComs") not in analyst
    assert user_roles(env, "finance_engineer") == {"finance_engineer"}
    assert user_roles(env, "platform_admin") == {"platform_admin"}

    second = sync(env, "--demo-users")
    assert second.strip().splitlines()[-1] == "no changes: in sync", second


def test_quota_and_pipeline_changes_are_converged(env, config_tree: Path):
    sync(env)
    tenant = config_tree / "tenant_configs" / "finance" / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace("pool_slots: 4", "pool_slots: 6"))
    (config_tree / "tenant_configs" / "finance" / "pipelines" / "fx_rates.yaml").unlink()
    out = sync(env)
    assert "update pool tenant_finance (slots 4 -> 6)" in out
    assert "revoke finance_engineer: can_edit on DAG:finance__fx_rates" in out
    assert pools(env)["tenant_finance"] == 6
    assert not any(res == "DAG:finance__fx_rates" for _, res in role_permissions(env, "finance_engineer"))


def test_prune_removes_what_a_deleted_tenant_left(env, config_tree: Path):
    sync(env)
    shutil.rmtree(config_tree / "tenant_configs" / "retail")
    kept = sync(env)
    assert "delete" not in kept and "tenant_retail" in pools(env)
    pruned = sync(env, "--prune")
    assert "delete pool tenant_retail (tenant removed)" in pruned
    assert "tenant_retail" not in pools(env)
    assert not {r for r in roles(env) if r.startswith("retail_")}
    assert {"finance_admin", "healthcare_admin"} <= roles(env)


def test_an_invalid_tenant_is_skipped_and_keeps_its_access(env, config_tree: Path):
    sync(env)
    orders = config_tree / "tenant_configs" / "retail" / "tenant.yaml"
    orders.write_text(orders.read_text() + "colour: blue\n")
    out = run_cli("tenantflow", "sync", "--prune", env=env)
    assert "skipping tenant 'retail'" in out.stdout
    assert "tenant_retail" in pools(env) and "retail_engineer" in roles(env)
    strict = run_cli("tenantflow", "sync", "--strict", env=env, check=False)
    assert strict.returncode == 1
