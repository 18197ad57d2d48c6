"""The `tenantflow` command as a user runs it: exit codes and what it prints."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import run_cli
from tenantflow.config import load_tenant
from yaml_edits import edit, position

EXAMPLE_DAG_IDS = {
    "finance__customers",
    "finance__fx_rates",
    "finance__orders",
    "finance__payments",
    "healthcare__appointments",
    "healthcare__lab_results",
    "healthcare__partner_lab_results",
    "retail__online_sales",
    "retail__products",
    "retail__sales",
    "retail__store_events",
}
ERROR_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<field>[\w.]+): (?P<message>.+)$")


def tenantflow(tree: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `tenantflow ARGS` against the config tree copy ``tree`` (None = the repo's examples)."""
    env = {}
    if tree is not None:
        env = {
            "TENANTFLOW_CONFIG_DIR": str(tree / "tenant_configs"),
            "TENANTFLOW_DAGS_DIR": str(tree / "dags" / "tenants"),
        }
    return run_cli("tenantflow", *args, env=env, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-3000:]}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


replace = edit


def add_tenant(tree: Path, tenant: str, *, landing: str, namespace: str) -> Path:
    """A valid tenant without pipelines, with its DAG entry file."""
    (tree / "dags" / "tenants" / f"{tenant}.py").write_text(
        (tree / "dags" / "tenants" / "retail.py").read_text()
    )
    return write(
        tree / "tenant_configs" / tenant / "tenant.yaml",
        f"""
        display_name: {tenant}
        owners:
          - name: {tenant} team
            email: {tenant}@example.com
        quotas:
          pool_slots: 1
          max_active_runs: 1
          max_active_tasks: 1
        storage:
          landing: {landing}
        catalog:
          namespace: {namespace}
    """,
    )


# --------------------------------------------------------------------------- validate


EXAMPLE_PIPELINES = len(list((Path(__file__).resolve().parents[2] / "tenant_configs").glob("*/pipelines/*.yaml")))


def test_validate_examples() -> None:
    result = tenantflow(None, "validate")
    assert result.returncode == 0, output(result)
    assert f"OK: 3 tenant(s), {EXAMPLE_PIPELINES} pipeline(s) valid" in result.stdout, output(result)


def test_validate_lists_every_error_and_fails(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    tenant = replace(configs / "finance" / "tenant.yaml", "pool_slots: 4", "pool_slots: 0")
    orders = replace(configs / "finance" / "pipelines" / "orders.yaml", "mode: merge", "mode: upsert")
    sales = replace(configs / "retail" / "pipelines" / "sales.yaml", 'cron: "15 * * * *"', 'cron: "15 * *"')

    result = tenantflow(config_tree, "validate")

    assert result.returncode == 1, output(result)
    expected = [
        "tenant_configs/finance/pipelines/orders.yaml:{}:{}: target.mode: Input should be 'append', "
        "'merge' or 'overwrite'".format(*position(orders, "mode: upsert")),
        "tenant_configs/finance/tenant.yaml:{}:{}: quotas.pool_slots: Input should be greater than or equal "
        "to 1".format(*position(tenant, "pool_slots")),
        "tenant_configs/retail/pipelines/sales.yaml:{}:{}: schedule.cron: cron '15 * *' must have 5 fields "
        "(minute hour day month weekday)".format(*position(sales, "cron")),
    ]
    lines = result.stdout.splitlines()
    for line in expected:
        assert line in lines, f"missing error line {line!r}\n{output(result)}"
    error_lines = [line for line in lines if not line.startswith("FAILED")]
    assert len(error_lines) == 3, f"expected exactly the 3 errors\n{output(result)}"
    for line in error_lines:
        assert ERROR_LINE.match(line), f"{line!r} is not in `path:line:col: field: message` form"
    assert lines[-1] == "FAILED: 3 error(s)", output(result)


def test_validate_reports_retention_and_maintenance_beyond_the_platform_bounds(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    tenant = replace(configs / "healthcare" / "tenant.yaml", "  landing: landing/healthcare\n",
                     "  landing: landing/healthcare\n  retention_days: 30\n")
    orders = configs / "finance" / "pipelines" / "orders.yaml"
    orders.write_text(orders.read_text() + "maintenance:\n  orphan_files_older_than: 6h\n")

    result = tenantflow(config_tree, "validate")

    assert result.returncode == 1, output(result)
    expected = [
        "tenant_configs/finance/pipelines/orders.yaml:{}:{}: maintenance.orphan_files_older_than: 6h is outside "
        "the platform's bounds: allowed range 1d or longer (a shorter window can delete the files of a load still "
        "running) (hint: use at least 1d (maintenance.bounds.min_orphan_files_older_than in _platform.yaml))"
        .format(*position(orders, "orphan_files_older_than")),
        "tenant_configs/healthcare/tenant.yaml:{}:{}: storage.retention_days: 30 days keeps raw batches and rejects "
        "longer than the platform allows for classification 'highly_restricted': allowed range raw batches up to "
        "7d, rejects up to 7d (_platform.yaml retention.raw_batches.highly_restricted, "
        "retention.rejects.highly_restricted) (hint: use 1 to 7, or remove it to keep them for the platform's "
        "maximum)".format(*position(tenant, "retention_days")),
    ]
    lines = result.stdout.splitlines()
    for line in expected:
        assert line in lines, f"missing error line {line!r}\n{output(result)}"
    assert lines[-1] == "FAILED: 2 error(s)", output(result)


def test_validate_one_tenant_folder(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    replace(configs / "retail" / "pipelines" / "sales.yaml", "mode: append", "mode: upsert")

    only_finance = tenantflow(config_tree, "validate", str(configs / "finance"))
    only_retail = tenantflow(config_tree, "validate", str(configs / "retail"))

    assert only_finance.returncode == 0, (
        f"retail's error must not fail `validate finance`\n{output(only_finance)}"
    )
    assert "OK: 1 tenant(s), 4 pipeline(s) valid" in only_finance.stdout, output(only_finance)
    assert only_retail.returncode == 1, output(only_retail)
    assert "tenant_configs/retail/pipelines/sales.yaml:" in only_retail.stdout, output(only_retail)
    assert "finance" not in only_retail.stdout, output(only_retail)


def test_validate_unknown_tenant_folder(config_tree: Path) -> None:
    result = tenantflow(config_tree, "validate", str(config_tree / "tenant_configs" / "nosuch"))
    assert result.returncode == 1, output(result)
    assert "nosuch: no such tenant folder" in result.stdout, output(result)


def test_validate_reports_missing_dag_entry_file(config_tree: Path) -> None:
    entry = config_tree / "dags" / "tenants" / "retail.py"
    entry.unlink()

    result = tenantflow(config_tree, "validate")

    assert result.returncode == 1, output(result)
    assert f"{entry}: missing DAG entry file for tenant 'retail'" in result.stdout, output(result)
    assert "FAILED: 1 error(s)" in result.stdout, output(result)


def test_validate_reports_two_tenants_sharing_a_namespace(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    add_tenant(config_tree, "retail_eu", landing="landing/retail_eu", namespace="retail_eu")
    retail = replace(configs / "retail" / "tenant.yaml", "namespace: retail", "namespace: retail_eu")
    load_tenant(configs, "retail")  # each tenant is valid on its own: only the pair clashes
    load_tenant(configs, "retail_eu")

    result = tenantflow(config_tree, "validate")

    line, column = position(retail, "namespace:")
    expected = (
        f"tenant_configs/retail/tenant.yaml:{line}:{column}: catalog.namespace: 'retail_eu' overlaps "
        "tenant 'retail_eu' ('retail_eu') (hint: every tenant needs its own location)"
    )
    assert result.returncode == 1, output(result)
    assert expected in result.stdout.splitlines(), output(result)
    assert "FAILED: 1 error(s)" in result.stdout, output(result)


def test_validate_reports_a_landing_inside_another_tenants_landing(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    add_tenant(config_tree, "retail_eu", landing="landing/retail/retail_eu", namespace="retail_eu")
    path = configs / "retail_eu" / "tenant.yaml"
    line, column = position(path, "landing:")
    expected = (
        f"tenant_configs/retail_eu/tenant.yaml:{line}:{column}: storage.landing: 'landing/retail/retail_eu' "
        "is outside tenant 'retail_eu''s local area 'landing/retail_eu/'"
    )

    everything = tenantflow(config_tree, "validate")
    only_new = tenantflow(config_tree, "validate", str(configs / "retail_eu"))

    for result in (everything, only_new):
        assert result.returncode == 1, output(result)
        assert any(line.startswith(expected) for line in result.stdout.splitlines()), output(result)


# --------------------------------------------------------------------------- schema


def test_schema_pipeline_prints_json_schema() -> None:
    result = tenantflow(None, "schema", "pipeline")
    assert result.returncode == 0, output(result)
    schema = json.loads(result.stdout)
    assert {"source", "target", "schedule", "quality"} <= set(schema["properties"]), sorted(
        schema["properties"]
    )


def test_schema_out_writes_three_files(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    result = tenantflow(None, "schema", "--out", str(out))
    assert result.returncode == 0, output(result)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["pipeline.schema.json", "platform.schema.json", "tenant.schema.json"], files
    for path in out.iterdir():
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path
        assert "properties" in schema, path
    assert json.loads((out / "tenant.schema.json").read_text())["title"] == "tenantflow tenant config"


# --------------------------------------------------------------------------- new-tenant


def test_new_tenant_scaffolds_a_valid_tenant(config_tree: Path) -> None:
    configs = config_tree / "tenant_configs"
    expected = [
        configs / "marketing" / "tenant.yaml",
        configs / "marketing" / "pipelines" / "example.yaml",
        config_tree / "dags" / "tenants" / "marketing.py",
    ]

    result = tenantflow(config_tree, "new-tenant", "marketing")

    assert result.returncode == 0, output(result)
    for path in expected:
        assert path.is_file(), f"{path} was not created\n{output(result)}"
        assert f"created {path}" in result.stdout, output(result)
    assert "OK: 1 tenant(s), 1 pipeline(s) valid" in result.stdout, output(result)
    assert "once merged the reconcile makes the tenant's pool, roles and namespace by itself" in result.stdout
    assert expected[2].read_text() == (config_tree / "dags" / "tenants" / "finance.py").read_text(), (
        "the scaffolded DAG entry file should be the same thin entry file as the other tenants'"
    )

    everything = tenantflow(config_tree, "validate")
    assert everything.returncode == 0, output(everything)
    assert f"OK: 4 tenant(s), {EXAMPLE_PIPELINES + 1} pipeline(s) valid" in everything.stdout, output(everything)
    bundle = load_tenant(configs, "marketing")
    assert bundle.tenant.storage.landing == "landing/marketing"
    assert bundle.tenant.catalog.namespace == "marketing"


def test_new_tenant_rejects_a_bad_id(config_tree: Path) -> None:
    before = sorted(p.name for p in (config_tree / "tenant_configs").iterdir())

    result = tenantflow(config_tree, "new-tenant", "Bad-Id")

    assert result.returncode == 1, output(result)
    assert "tenant id 'Bad-Id' must be a lowercase slug" in result.stdout, output(result)
    assert sorted(p.name for p in (config_tree / "tenant_configs").iterdir()) == before, (
        "nothing may be created"
    )
    assert not (config_tree / "dags" / "tenants" / "Bad-Id.py").exists()


def test_new_tenant_refuses_an_existing_tenant(config_tree: Path) -> None:
    tenant = config_tree / "tenant_configs" / "finance" / "tenant.yaml"
    before = tenant.read_text()

    result = tenantflow(config_tree, "new-tenant", "finance")

    assert result.returncode == 1, output(result)
    assert "already exists" in result.stdout, output(result)
    assert tenant.read_text() == before, "an existing tenant.yaml must not be overwritten"
    assert not (tenant.parent / "pipelines" / "example.yaml").exists()


# --------------------------------------------------------------------------- list, roles


def _dag_ids(stdout: str) -> set[str]:
    lines = stdout.splitlines()
    assert lines and lines[0].split()[:3] == ["TENANT", "PIPELINE", "DAG"], stdout
    return {line.split()[2] for line in lines[1:] if "__" in line}


def test_list_prints_the_example_dag_ids() -> None:
    result = tenantflow(None, "list")
    assert result.returncode == 0, output(result)
    assert _dag_ids(result.stdout) == EXAMPLE_DAG_IDS, output(result)


def test_list_with_a_broken_tenant_lists_the_others_and_fails(config_tree: Path) -> None:
    replace(config_tree / "tenant_configs" / "finance" / "tenant.yaml", "pool_slots: 4", "pool_slots: 0")

    result = tenantflow(config_tree, "list")

    assert result.returncode == 1, output(result)
    assert _dag_ids(result.stdout) == {d for d in EXAMPLE_DAG_IDS if not d.startswith("finance")}, output(
        result
    )
    assert "finance: invalid config" in result.stdout, output(result)


@pytest.fixture(scope="module")
def roles() -> subprocess.CompletedProcess[str]:
    return tenantflow(None, "roles")


@pytest.mark.parametrize("role", ["Tenant Admin", "Data Engineer", "Data Analyst", "Data Steward"])
def test_roles_prints_a_markdown_row_per_tenant_role(
    roles: subprocess.CompletedProcess[str], role: str
) -> None:
    assert roles.returncode == 0, output(roles)
    rows = [line for line in roles.stdout.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| Role |") and set(rows[1]) <= {"|", "-", " ", ":"}, roles.stdout
    assert len(rows) == 2 + 4, f"expected a header, a separator and 4 role rows:\n{roles.stdout}"
    assert any(row.startswith(f"| {role} |") for row in rows[2:]), f"no row for {role!r}:\n{roles.stdout}"


@pytest.mark.parametrize("key", ["admin", "engineer", "analyst", "steward"])
def test_roles_name_the_fab_roles(roles: subprocess.CompletedProcess[str], key: str) -> None:
    assert f"`<tenant>_{key}`" in roles.stdout, roles.stdout
