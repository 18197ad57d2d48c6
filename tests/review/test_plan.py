"""`tenantflow plan` on real git history: a temp repository with commits a config PR would make."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import copy_config_tree, run_cli
from tenantflow.config.scaffold import scaffold_tenant
from tenantflow.settings import Settings
from yaml_edits import edit

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=GIT_ENV,
                            check=True)
    return result.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def plan(repo: Path, *args: str, config_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"AIRFLOW__TENANTFLOW__CONFIG_DIR": str(config_dir or repo / "tenant_configs"),
           "AIRFLOW__TENANTFLOW__DAGS_DIR": str(repo / "dags" / "tenants"), **GIT_ENV}
    return run_cli("tenantflow", "plan", *args, env=env, check=False)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | Path]:
    """main: the example configs; branch config-change: one commit per kind of change; branch broken: invalid."""
    repo = copy_config_tree(tmp_path_factory.mktemp("plan-repo"))
    git(repo, "init", "-q", "-b", "main")
    shas: dict[str, str | Path] = {"repo": repo, "base": commit(repo, "example configs")}
    git(repo, "checkout", "-q", "-b", "config-change")
    configs = repo / "tenant_configs"

    settings = Settings(config_dir=configs, home=repo / ".tenantflow", dags_dir=repo / "dags" / "tenants")
    scaffold_tenant(settings, "logistics", display_name="Logistics", email=None)
    write(configs / "logistics" / "pipelines" / "shipments.yaml", """
        description: Shipments from the carrier API, customer emails hashed.
        source:
          kind: http
          connection_id: logistics__carrier_api
          path: /v1/shipments
        pii:
          columns:
            email: {method: hash}
        target:
          table: shipments
          mode: append
        """)
    write(configs / "finance" / "pipelines" / "crm_accounts.yaml", """
        description: CRM accounts.
        source:
          kind: sql
          connection_id: finance__crm
          table: accounts
        target:
          table: crm_accounts
          mode: append
        """)
    shas["added"] = commit(repo, "add tenant logistics; finance: crm_accounts from a new connection")

    git(repo, "rm", "-q", "-r", "tenant_configs/retail", "dags/tenants/retail.py")
    shas["removed"] = commit(repo, "offboard retail")

    git(repo, "mv", "tenant_configs/finance/pipelines/fx_rates.yaml",
        "tenant_configs/finance/pipelines/treasury_fx_rates.yaml")
    shas["renamed"] = commit(repo, "finance: fx_rates -> treasury_fx_rates")

    edit(configs / "finance" / "pipelines" / "orders.yaml", 'cron: "0 2 * * *"', 'cron: "0 5 * * *"')
    edit(configs / "healthcare" / "tenant.yaml", "pool_slots: 2", "pool_slots: 3")
    edit(configs / "finance" / "tenant.yaml", "quotas:\n", "tier: dedicated\nquotas:\n  worker_queue: tenant_finance\n")
    edit(configs / "finance" / "tenant.yaml", "engineers: [finance_engineer]",
         "engineers: [finance_engineer, dana]")
    shas["tuned"] = commit(repo, "schedule, quota, tier and queue, a new engineer")

    git(repo, "checkout", "-q", "-b", "broken")
    edit(configs / "finance" / "tenant.yaml", "pool_slots: 4", "pool_slots: 0")
    scaffold_tenant(settings, "marketing", display_name=None, email=None)
    (repo / "dags" / "tenants" / "marketing.py").unlink()
    shas["broken"] = commit(repo, "invalid: zero pool slots, a tenant without its DAG entry file")
    git(repo, "checkout", "-q", "config-change")
    return shas


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.strip() for line in result.stdout.splitlines()]


def test_plan_names_every_change_of_the_branch(history) -> None:
    result = plan(history["repo"], "--base", str(history["base"]))
    assert result.returncode == 0, result.stdout + result.stderr
    out = lines(result)
    expected = [
        # tenants
        "- tenant added: logistics (Logistics)",
        "- tenant removed: retail",
        "- tenant changed: finance",
        "tier: standard -> dedicated",
        "worker queue: default queue -> tenant_finance (tasks of its DAGs run on workers of that queue)",
        "access.engineers: + dana",
        "- tenant changed: healthcare",
        "quotas.pool_slots: 2 -> 3",
        # pipelines and DAG ids
        "- pipeline added: finance/crm_accounts (DAG finance__crm_accounts)",
        "- pipeline added: logistics/shipments (DAG logistics__shipments)",
        "- pipeline added: logistics/example (disabled: no DAG yet)",
        "- pipeline renamed: finance/fx_rates -> finance/treasury_fx_rates",
        "a new DAG id: finance__treasury_fx_rates; the runs and logs of finance__fx_rates stay under the old id "
        "(finance__fx_rates is no longer parsed)",
        "- pipeline changed: finance/orders (DAG finance__orders)",
        "schedule: 0 2 * * * Europe/Berlin -> 0 5 * * * Europe/Berlin",
        "- DAG ids added: finance__crm_accounts, finance__treasury_fx_rates, logistics__maintenance, "
        "logistics__shipments",
        "- DAG ids removed: finance__fx_rates, retail__maintenance, retail__online_sales, retail__products, "
        "retail__sales, retail__store_events",
        # roles, pools, users from desired_state()
        "- role deleted: retail_admin (by the reconcile after the merge)",
        "- role changed: finance_analyst",
        "grant DAG finance__crm_accounts: can_read (DAG); can_read, menu_access (DAG Run)",
        "revoke DAG finance__fx_rates: can_read (DAG); can_read, menu_access (DAG Run)",
        "- pool created: tenant_logistics (2 slots)",
        "- pool slots: tenant_healthcare 2 -> 3",
        "- pool deleted: tenant_retail (by the reconcile after the merge)",
        "- user created: dana (roles finance_engineer)",
        # connections
        "- finance__crm: sql source of finance__crm_accounts",
        "- logistics__carrier_api: http source of logistics__shipments",
        "- logistics__pii: PII hashing key of logistics__shipments (password of at least 32 characters)",
        # storage and what the offboarding leaves
        "- new tenant logistics: landing landing/logistics, namespace logistics in catalog local "
        "(`tenantflow sync` creates the namespace)",
        "- tenant retail: kept; deleted only by `tenantflow offboard --purge retail --confirm retail`",
        "landing location: landing/retail",
        "catalog namespace: retail (catalog local)",
        "tables: retail.online_sales, retail.products, retail.sales, retail.store_events",
    ]
    missing = [line for line in expected if line not in out]
    missing += [role for role in ("logistics_admin", "logistics_engineer", "logistics_analyst", "logistics_steward")
                if not any(line.startswith(f"- role created: {role} (") for line in out)]
    assert not missing, f"missing {missing}\nin:\n{result.stdout}"
    assert out[1].startswith("summary: 1 tenant added, 1 tenant removed, 2 tenants changed, "
                             "3 pipelines added"), out[1]
    assert not any("finance__erp" in line for line in out), "an existing connection is not a new one"
    # the renamed pipeline is otherwise unchanged: no schedule/engine/target lines under it
    renamed = out.index("- pipeline renamed: finance/fx_rates -> finance/treasury_fx_rates")
    assert out[renamed + 2].startswith("-"), out[renamed:renamed + 3]


def test_plan_of_one_commit_shows_only_that_commit(history) -> None:
    result = plan(history["repo"], "--base", str(history["renamed"]), "--head", str(history["tuned"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tenant added" not in result.stdout and "pipeline renamed" not in result.stdout
    assert "schedule: 0 2 * * * Europe/Berlin -> 0 5 * * * Europe/Berlin" in lines(result)
    assert "Pools" in lines(result) and "Connections" not in result.stdout


def test_default_base_is_the_merge_base_with_main(history) -> None:
    result = plan(history["repo"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result)[0] == (f"tenantflow plan: merge-base with main ({str(history['base'])[:12]}) -> "
                                f"HEAD ({str(history['tuned'])[:12]})")
    assert result.stdout.split("\n", 1)[1] == plan(history["repo"], "--base", "main").stdout.split("\n", 1)[1]


def test_markdown_plan_for_the_pull_request_comment(history, tmp_path: Path) -> None:
    out_file = tmp_path / "plan.md"
    result = plan(history["repo"], "--base", "main", "--format", "markdown", "--out", str(out_file))
    assert result.returncode == 0, result.stdout + result.stderr
    text = out_file.read_text()
    assert text == result.stdout
    first, title, _, summary, *rest = text.splitlines()
    assert (first, title) == ("<!-- tenantflow-plan -->", "### tenantflow plan")
    assert summary.startswith("**1 tenant added, 1 tenant removed, ") and f"`{str(history['base'])[:12]}`" in summary
    assert "#### Tenants" in rest and "#### Data left by removed tenants" in rest
    assert "- tenant removed: retail" in rest
    assert "  - schedule: 0 2 \\* \\* \\* Europe/Berlin -> 0 5 \\* \\* \\* Europe/Berlin" in rest
    assert "  - tables: retail.online_sales, retail.products, retail.sales, retail.store_events" in rest
    assert all(line.startswith(("- ", "  - ", "#### ")) for line in rest if line), "only headings and bullets"


def test_no_changes(history) -> None:
    result = plan(history["repo"], "--base", "HEAD", "--head", "HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result)[1:] == ["summary: no changes"]


def test_invalid_head_exits_1_naming_file_and_field(history) -> None:
    result = plan(history["repo"], "--base", "main", "--head", "broken")
    assert result.returncode == 1, result.stdout
    out = lines(result)
    assert any(line.startswith("tenant_configs/finance/tenant.yaml:") and "quotas.pool_slots:" in line
               for line in out), result.stdout
    assert any(line.startswith("dags/tenants/marketing.py: missing DAG entry file for tenant 'marketing'")
               for line in out), result.stdout
    assert out[-1].startswith("FAILED: 2 error(s) in the configs at broken"), out[-1]
    assert "tenantflow-plan-" not in result.stdout, "no temp paths in the errors"


@pytest.mark.parametrize("args", [("--base", "no-such-branch"), ("--head", "no-such-branch")])
def test_unknown_ref_is_one_line(history, args) -> None:
    result = plan(history["repo"], *args)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"tenantflow plan: unknown git ref 'no-such-branch' in {history['repo']} (fetch it, e.g. "
        "`git fetch origin main`, or pass another --base/--head)"]
    assert "Traceback" not in result.stderr


def test_config_dir_outside_git_is_one_line(tmp_path: Path) -> None:
    tree = copy_config_tree(tmp_path)
    result = plan(tree)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"tenantflow plan: the config dir {tree / 'tenant_configs'} is not inside a git repository "
        "(tenantflow plan compares git refs)"]
    assert "Traceback" not in result.stderr
