"""Every `tenantflow` command ends with one clear line and an exit code — no traceback — on an unmigrated or
unreachable metadata DB, a missing config dir, and a reader that closes its output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli

BIN = Path(sys.executable).parent


def last_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("tenantflow ")]
    assert lines, result.stderr[-3000:]
    return lines[-1]


@pytest.mark.parametrize("command", [("sync", "--dry-run"), ("sync",), ("offboard",), ("reconcile",)])
def test_an_unmigrated_metadata_db_is_one_line_naming_the_fix(tmp_path, command):
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/new.db",
           "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"}
    result = run_cli("tenantflow", *command, env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    line = last_line(result)
    assert line.startswith(f"tenantflow {command[0]}: the Airflow metadata DB sqlite:///{tmp_path}/new.db "
                           "is not migrated"), line
    assert line.endswith("run `airflow db migrate`")


def test_an_unreachable_metadata_db_names_it_without_its_password(tmp_path):
    env = {"AIRFLOW_HOME": str(tmp_path),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres:s3cret-pw@127.0.0.1:1/airflow"}
    result = run_cli("tenantflow", "sync", "--dry-run", env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = last_line(result)
    assert line.startswith("tenantflow sync: cannot use the Airflow metadata DB postgresql+psycopg2://postgres:***@"
                           "127.0.0.1:1/airflow: connection to server"), line
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_an_unmigrated_postgresql_database_is_told_apart_by_its_error_code(tmp_path):
    from isolation.stack import drop_database, fresh_database

    url = fresh_database("unmigrated")
    try:
        result = run_cli("tenantflow", "sync", "--dry-run", check=False,
                         env={"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url})
    finally:
        drop_database(url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = last_line(result)
    assert line.startswith(f"tenantflow sync: the Airflow metadata DB {url} is not migrated"), line
    assert line.endswith("run `airflow db migrate`")


def test_a_missing_database_is_not_taken_for_an_unmigrated_one(tmp_path):
    env = {"AIRFLOW_HOME": str(tmp_path),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres@127.0.0.1:5432/tf_no_such_db"}
    result = run_cli("tenantflow", "sync", "--dry-run", env=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = last_line(result)
    assert line.startswith("tenantflow sync: cannot use the Airflow metadata DB "
                           "postgresql+psycopg2://postgres@127.0.0.1:5432/tf_no_such_db:"), line
    assert 'database "tf_no_such_db" does not exist' in line and "airflow db migrate" not in line


@pytest.mark.parametrize("command", [("list",), ("sync",), ("tables", "finance"), ("doctor", "finance"),
                                     ("new-tenant", "acme"), ("reconcile",)])
def test_a_missing_config_dir_is_one_line(tmp_path, command):
    result = run_cli("tenantflow", *command, env={"AIRFLOW__TENANTFLOW__CONFIG_DIR": str(tmp_path / "nope")},
                     check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert last_line(result) == (
        f"tenantflow {command[0]}: config dir {tmp_path / 'nope'} does not exist (set [tenantflow] config_dir in "
        "airflow.cfg or AIRFLOW__TENANTFLOW__CONFIG_DIR to your tenant_configs folder)")


def test_a_reader_that_goes_away_ends_the_output_quietly_with_141():
    # the reader of the pipe is gone before the command writes (as `| head` is, once it has its lines)
    env = {**os.environ, "AIRFLOW__TENANTFLOW__CONFIG_DIR": str(REPO / "tenant_configs")}
    read_end, write_end = os.pipe()
    tenantflow = subprocess.Popen([str(BIN / "tenantflow"), "list"], env=env, stdout=write_end,
                                  stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    os.close(read_end)
    _, err = tenantflow.communicate(timeout=120)
    assert tenantflow.returncode == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err
    assert err.splitlines()[-1] == ("tenantflow list: output closed by the reader (e.g. `| head`); the rest was "
                                    "not printed")


def test_list_piped_into_head_has_no_traceback():
    result = subprocess.run(f"{BIN / 'tenantflow'} list | head -1", shell=True, capture_output=True, text=True,
                            env={**os.environ, "AIRFLOW__TENANTFLOW__CONFIG_DIR": str(REPO / "tenant_configs")},
                            timeout=120)
    assert result.stdout.startswith("TENANT") and "Traceback" not in result.stderr
