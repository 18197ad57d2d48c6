"""Broken tenant configs are reported as `file:line:col: field: message (hint: ...)` errors a user can act on.

Each test writes YAML into a writable copy of tenant_configs/ (the `config_tree` fixture) and
checks the exact file, line, column and field of the error, plus the gist of its message.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantflow.config import ConfigError, ConfigErrors, load_all, load_tenant
from yaml_edits import edit, position

# A valid finance pipeline; tests change one thing in it. Line numbers are on the right.
ORDERS = """\
description: ERP orders
tags: [erp]
source:
  kind: sql
  connection_id: finance__erp
  table: orders
target:
  table: orders
  mode: append
"""
#  1 description   2 tags   3 source   4 kind   5 connection_id   6 table   7 target   8 table   9 mode


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def replace(root: Path, relpath: str, old: str, new: str) -> Path:
    return edit(root / relpath, old, new)


def errors_of(root: Path, tenant: str = "finance") -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, tenant)
    return exc.value.errors


def describe(errors: list[ConfigError]) -> str:
    return "\n".join(
        f"  {e.file}:{e.line}:{e.column} field={e.field!r} {e.message!r} hint={e.hint!r}" for e in errors
    )


def the_error(root: Path, tenant: str = "finance") -> ConfigError:
    errors = errors_of(root, tenant)
    assert len(errors) == 1, f"expected exactly one error, got {len(errors)}:\n{describe(errors)}"
    return errors[0]


def check(
    error: ConfigError, file: Path, line: int, column: int, field: str, message: str, hint: str | None = None
) -> None:
    got = (error.file, error.line, error.column, error.field)
    assert got == (file, line, column, field), (
        f"expected {file}:{line}:{column} field {field!r}, got:\n{describe([error])}"
    )
    assert message in error.message, f"expected {message!r} in the message, got:\n{describe([error])}"
    if hint is not None:
        assert hint in error.hint, f"expected {hint!r} in the hint, got:\n{describe([error])}"


def write_orders(root: Path, text: str) -> Path:
    return write(root, "finance/pipelines/orders.yaml", text)


# --------------------------------------------------------------------------- missing and unknown fields


def test_sql_source_without_table_or_query(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("  table: orders\ntarget", "target"))
    check(the_error(root), path, 3, 1, "source", "set exactly one of `table` or `query`")


def test_sql_source_with_both_table_and_query(root: Path) -> None:
    path = write_orders(
        root, ORDERS.replace("  table: orders\ntarget", "  table: orders\n  query: SELECT 1\ntarget")
    )
    check(the_error(root), path, 3, 1, "source", "set exactly one of `table` or `query`")


def test_partitions_without_partition_on_name_both_fields(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("  table: orders\ntarget", "  table: orders\n  partitions: 4\ntarget"))
    check(the_error(root), path, 3, 1, "source", "`partition_on` and `partitions` go together: partition_on=None, "
          "partitions=4")


def test_partition_on_outside_the_selected_columns(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("  table: orders\ntarget", "  table: orders\n  columns: [id, amount]\n"
                                             "  partition_on: order_id\n  partitions: 2\ntarget"))
    check(the_error(root), path, 3, 1, "source", "partition_on 'order_id' must be one of `columns` ['id', 'amount']")


def test_missing_target(root: Path) -> None:
    path = write_orders(root, ORDERS.split("target:")[0])
    check(the_error(root), path, 1, 1, "target", "field required", hint="add `target:`")


def test_missing_field_inside_a_list_item_points_at_the_item(root: Path) -> None:
    path = write_orders(root, ORDERS + "quality:\n  - rule: not_null\n")
    check(the_error(root), path, 11, 5, "quality.0.column", "field required", hint="add `column:`")


def test_unknown_field_suggests_the_closest_name(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("  table: orders\ntarget", "  tabel: orders\ntarget"))
    errors = errors_of(root)
    unknown = [e for e in errors if e.field == "source.tabel"]
    assert unknown, f"expected an error on source.tabel, got:\n{describe(errors)}"
    check(unknown[0], path, 6, 3, "source.tabel", "unknown field", hint="did you mean `table`?")
    assert "query" in unknown[0].hint, "the hint should list the allowed fields of a sql source"


def test_unknown_top_level_field_lists_allowed_fields(root: Path) -> None:
    path = write_orders(root, ORDERS + "colour: blue\n")
    check(the_error(root), path, 10, 1, "colour", "unknown field", hint="allowed fields:")
    assert "schedule" in the_error(root).hint


# --------------------------------------------------------------------------- wrong values


def test_wrong_literal(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("mode: append", "mode: upsert"))
    check(the_error(root), path, 9, 3, "target.mode", "'append', 'merge' or 'overwrite'")


def test_wrong_source_kind(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("kind: sql", "kind: ftp"))
    error = the_error(root)
    check(error, path, 3, 1, "source", "'ftp'")
    assert "'sql', 'files'" in error.message, f"the message should name the valid kinds: {error.message!r}"


def test_misspelt_quality_rule_suggests_the_right_one(root: Path) -> None:
    quality = """
        quality:
          - rule: unique
            column: order_id
          - rule: not_nul
            column: order_id
    """
    path = write_orders(root, ORDERS + textwrap.dedent(quality).lstrip("\n"))
    check(the_error(root), path, 13, 5, "quality.1", "'not_nul'", hint="did you mean 'not_null'")


def test_wrong_type(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "pool_slots: 4", 'pool_slots: "many"')
    line, column = position(path, "pool_slots")
    check(the_error(root), path, line, column, "quotas.pool_slots", "valid integer", hint="int")


def test_out_of_range(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "pool_slots: 4", "pool_slots: 0")
    line, column = position(path, "pool_slots")
    check(the_error(root), path, line, column, "quotas.pool_slots", "greater than or equal to 1")


def test_merge_without_merge_keys(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("mode: append", "mode: merge"))
    check(the_error(root), path, 7, 1, "target", "mode 'merge' needs `merge_keys`")


def test_range_rule_without_bounds(root: Path) -> None:
    path = write_orders(root, ORDERS + "quality:\n  - rule: range\n    column: amount\n")
    check(the_error(root), path, 11, 5, "quality.0", "range needs `min`, `max` or both")


def test_invalid_regex(root: Path) -> None:
    quality = """
        quality:
          - rule: regex
            column: email
            pattern: "[a-"
    """
    path = write_orders(root, ORDERS + textwrap.dedent(quality).lstrip("\n"))
    check(the_error(root), path, 13, 5, "quality.0.pattern", "is not a valid regular expression")


def test_cron_with_four_fields(root: Path) -> None:
    path = write_orders(root, ORDERS + 'schedule:\n  cron: "0 2 * *"\n')
    check(the_error(root), path, 11, 3, "schedule.cron", "must have 5 fields")


def test_unknown_timezone(root: Path) -> None:
    path = write_orders(root, ORDERS + 'schedule:\n  cron: "0 2 * * *"\n  timezone: Mars/Olympus\n')
    check(the_error(root), path, 12, 3, "schedule.timezone", "unknown timezone 'Mars/Olympus'")


@pytest.mark.parametrize("cron", ["@daly", "99 * * * *"])
def test_cron_airflow_rejects_is_a_config_error(root: Path, cron: str) -> None:
    path = write_orders(root, ORDERS + f'schedule:\n  cron: "{cron}"\n')
    check(the_error(root), path, 11, 3, "schedule.cron", cron)


def test_reserved_tenant_tag(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("tags: [erp]", 'tags: [erp, "tenant:finance"]'))
    check(the_error(root), path, 2, 1, "tags", "'tenant:' tag is set by the platform")


def test_foreign_worker_queue_points_at_the_queue(root: Path) -> None:
    path = replace(
        root,
        "finance/tenant.yaml",
        "  max_active_tasks: 6\n",
        "  max_active_tasks: 6\n  worker_queue: tenant_retail\n",
    )
    line, column = position(path, "worker_queue")
    check(the_error(root), path, line, column, "quotas.worker_queue", "must be 'tenant_finance'")


# --------------------------------------------------------------------------- YAML problems


def test_yaml_syntax_error_points_at_the_problem(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("mode: append", "mode: append: merge"))
    check(the_error(root), path, 9, 15, "", "invalid YAML")


def test_file_that_is_a_list_is_rejected(root: Path) -> None:
    path = write_orders(root, "- source\n- target\n")
    check(the_error(root), path, 1, 1, "", "the file must contain a mapping of fields")


def test_duplicate_key_is_not_silently_ignored(root: Path) -> None:
    path = write_orders(root, ORDERS + "target:\n  table: orders\n  mode: upsert\n")
    errors = errors_of(root)
    assert all((e.file, e.line) != (path, 9) for e in errors), (
        "line 9 (`mode: append`) is valid; the error must point at the duplicate (line 10/12):\n"
        + describe(errors)
    )


def test_unknown_field_named_like_the_source_kind(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("  table: orders\ntarget", "  sql: SELECT 1\ntarget"))
    errors = [e for e in errors_of(root) if "unknown field" in e.message]
    assert len(errors) == 1, describe(errors)
    check(errors[0], path, 6, 3, "source.sql", "unknown field", hint="allowed fields:")


# --------------------------------------------------------------------------- all errors, isolation


def test_every_error_of_a_tenant_is_reported_sorted(root: Path) -> None:
    tenant = replace(root, "finance/tenant.yaml", "pool_slots: 4", "pool_slots: 0")
    orders = write_orders(root, ORDERS.replace("mode: append", "mode: upsert"))
    customers = replace(
        root,
        "finance/pipelines/customers.yaml",
        "tags: [erp, customers]\n",
        "tags: [erp, customers]\ncolour: blue\n",
    )
    fx_rates = replace(root, "finance/pipelines/fx_rates.yaml", 'cron: "0 7 * * 1-5"', 'cron: "0 7 *"')

    errors = errors_of(root)

    expected = [
        (customers, *position(customers, "colour"), "colour"),
        (fx_rates, *position(fx_rates, "cron"), "schedule.cron"),
        (orders, 9, 3, "target.mode"),
        (tenant, *position(tenant, "pool_slots"), "quotas.pool_slots"),
    ]
    assert len(errors) == 4, f"expected 4 errors (3 pipeline files + tenant.yaml), got:\n{describe(errors)}"
    assert [(e.file, e.line, e.column, e.field) for e in errors] == expected, describe(errors)
    assert errors == sorted(errors, key=lambda e: (str(e.file), e.line, e.column)), "errors must be sorted"


def test_errors_str_is_file_line_col_field_message_hint(root: Path) -> None:
    """The path is shown from the config tree's parent, as the file is named in the repository."""
    write_orders(root, ORDERS.replace("  table: orders\ntarget", "  tabel: orders\ntarget"))
    text = str(the_error(root))
    assert text == (
        "tenant_configs/finance/pipelines/orders.yaml:6:3: source.tabel: unknown field "
        "(hint: did you mean `table`? allowed fields: batch_rows, columns, connection_id, kind, partition_on, "
        "partitions, query, table)"
    ), text


def test_one_broken_tenant_does_not_affect_the_others(root: Path, repo: Path) -> None:
    write(root, "finance/tenant.yaml", "display_name: [unclosed\n")
    write_orders(root, ORDERS.replace("mode: append", "mode: upsert"))

    bundles, failures = load_all(root)

    assert sorted(failures) == ["finance"], f"only finance is broken, failures: {sorted(failures)}"
    assert len(failures["finance"].errors) == 2, describe(failures["finance"].errors)
    assert sorted(bundles) == ["healthcare", "retail"]
    for tenant in ("healthcare", "retail"):
        pristine = load_tenant(repo / "tenant_configs", tenant)
        assert bundles[tenant].tenant == pristine.tenant, (
            f"{tenant} loaded differently next to a broken tenant"
        )
        assert bundles[tenant].pipelines == pristine.pipelines


# --------------------------------------------------------------------------- ownership


def test_connection_of_another_tenant(root: Path) -> None:
    path = write_orders(root, ORDERS.replace("finance__erp", "retail__erp"))
    check(
        the_error(root),
        path,
        5,
        3,
        "source.connection_id",
        "'retail__erp' does not belong to tenant 'finance'",
        hint="finance__<name>",
    )


@pytest.mark.parametrize("landing", ["landing/retail", "s3://acme-retail-landing/raw"])
def test_landing_of_another_tenant(root: Path, landing: str) -> None:
    path = replace(root, "finance/tenant.yaml", "landing: landing/finance", f"landing: {landing}")
    line, column = position(path, "landing:")
    check(
        the_error(root),
        path,
        line,
        column,
        "storage.landing",
        "points at tenant 'retail'",
        hint="tenant 'finance'",
    )


def test_landing_naming_no_tenant(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "landing: landing/finance", "landing: s3://acme-landing/raw")
    line, column = position(path, "landing:")
    check(
        the_error(root),
        path,
        line,
        column,
        "storage.landing",
        "is not a bucket of tenant 'finance'",
        hint="s3://acme-finance-landing/raw",
    )


@pytest.mark.parametrize("landing", ["gs://acme-finance-landing/raw", "az://finance-landing/raw",
                                     "abfs://finance-landing/raw"])
def test_landing_on_gcs_or_azure_is_valid(root: Path, landing: str) -> None:
    replace(root, "finance/tenant.yaml", "landing: landing/finance", f"landing: {landing}")
    assert load_tenant(root, "finance").tenant.storage.landing == landing


@pytest.mark.parametrize(("landing", "message", "hint"), [
    ("gs://acme-landing/raw", "is not a bucket of tenant 'finance'", "gs://acme-finance-landing/raw"),
    ("az://retail-landing/raw", "points at tenant 'retail'", "tenant 'finance'"),
    ("ftp://acme-finance/raw", "must be an s3://, gs://, az:// or abfs:// URI or a local path", None),
    ("gs://", "landing gs:// URI needs a bucket", None),
])
def test_landing_on_gcs_or_azure_names_the_tenant(root: Path, landing: str, message: str, hint: str | None) -> None:
    path = replace(root, "finance/tenant.yaml", "landing: landing/finance", f"landing: {landing}")
    line, column = position(path, "landing:")
    check(the_error(root), path, line, column, "storage.landing", message, hint=hint)


def test_a_kms_key_needs_an_s3_landing(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "landing: landing/finance",
                   "landing: gs://acme-finance-landing/raw\n  kms_key_id: alias/finance")
    error = the_error(root)
    assert (error.file, error.field) == (path, "storage")
    assert "kms_key_id applies to an s3:// landing or warehouse" in error.message and "CMEK" in error.message


def test_landing_in_another_tenants_bucket_under_own_prefix(root: Path) -> None:
    path = replace(
        root, "finance/tenant.yaml", "landing: landing/finance", "landing: s3://acme-retail-landing/finance"
    )
    line, column = position(path, "landing:")
    check(the_error(root), path, line, column, "storage.landing", "retail")


def test_namespace_of_another_tenant(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "namespace: finance", "namespace: retail")
    line, column = position(path, "namespace:")
    check(
        the_error(root),
        path,
        line,
        column,
        "catalog.namespace",
        "'retail' does not belong to tenant 'finance'",
        hint="'finance_<suffix>'",
    )


def test_unknown_catalog_name(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "catalog:\n", "catalog:\n  name: lakehouse\n")
    line, column = position(path, "name: lakehouse")
    check(the_error(root), path, line, column, "catalog.name", "unknown catalog 'lakehouse'", hint="local")


FX_RATES = """\
source:
  kind: files
  path: {path}
  format: csv
target:
  table: fx_rates
  mode: append
"""


@pytest.mark.parametrize(
    ("source_path", "message"),
    [
        ("sources/retail/sales/*.csv", "points at tenant 'retail'"),
        ("s3://acme-retail-landing/raw/*.csv", "points at tenant 'retail'"),
        ("sources/finance/../retail/sales/*.csv", "must not contain '..'"),
        ("../other/*.csv", "must not contain '..'"),
    ],
)
def test_file_source_outside_the_tenants_area(root: Path, source_path: str, message: str) -> None:
    path = write(root, "finance/pipelines/fx_rates.yaml", FX_RATES.format(path=source_path))
    check(the_error(root), path, 3, 3, "source.path", message)


@pytest.mark.parametrize("source_path", ["sources/*/sales/*.csv", "sources/retail/finance_copy/*.csv"])
def test_file_source_reaching_another_tenant_without_naming_only_it(root: Path, source_path: str) -> None:
    path = write(root, "finance/pipelines/fx_rates.yaml", FX_RATES.format(path=source_path))
    check(the_error(root), path, 3, 3, "source.path", "")


def test_pipeline_id_differs_from_file_name(root: Path) -> None:
    path = write(
        root,
        "finance/pipelines/fx_rates.yaml",
        "# rates\nid: rates\n" + FX_RATES.format(path="sources/finance/fx/*.csv"),
    )
    check(
        the_error(root),
        path,
        2,
        1,
        "id",
        "pipeline id 'rates' does not match its file name 'fx_rates'",
        hint="remove `id:`",
    )


def test_tenant_id_differs_from_folder_name(root: Path) -> None:
    path = replace(root, "finance/tenant.yaml", "display_name: Finance", "id: fin\ndisplay_name: Finance")
    line, column = position(path, "id: fin")
    check(
        the_error(root), path, line, column, "id", "tenant id 'fin' does not match its folder name 'finance'"
    )


def test_invalid_platform_default_points_into_platform_file(root: Path) -> None:
    platform = replace(root, "_platform.yaml", "pool_slots: 4", "pool_slots: 0")
    replace(root, "retail/tenant.yaml", "  pool_slots: 3\n", "")
    line, column = position(platform, "pool_slots")

    check(
        the_error(root, "retail"), platform, line, column, "quotas.pool_slots", "greater than or equal to 1"
    )


def test_tenant_value_overrides_an_invalid_platform_default(root: Path) -> None:
    replace(root, "_platform.yaml", "pool_slots: 4", "pool_slots: 0")
    assert load_tenant(root, "retail").tenant.quotas.pool_slots == 3


# --------------------------------------------------------------------------- safety


def test_python_tags_are_rejected_and_never_run(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write_orders(
        root,
        f'source: !!python/object/apply:os.system ["touch {marker}"]\n'
        "target:\n  table: orders\n  mode: append\n",
    )
    error = the_error(root)
    check(error, path, 1, 9, "", "invalid YAML")
    assert not marker.exists(), "a !!python tag in tenant YAML executed code"


def test_python_tag_echo_is_invalid_yaml(root: Path) -> None:
    path = write_orders(
        root, 'description: !!python/object/apply:os.system ["echo hi"]\n' + ORDERS.split("\n", 1)[1]
    )
    check(the_error(root), path, 1, 14, "", "invalid YAML")


def test_environment_variables_are_not_interpolated(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/somebody")
    replace(root, "finance/tenant.yaml", "display_name: Finance", "display_name: ${HOME}")
    write_orders(root, ORDERS.replace("description: ERP orders", "description: $HOME and ${HOME}"))

    bundle = load_tenant(root, "finance")

    assert bundle.tenant.display_name == "${HOME}"
    assert bundle.pipeline("orders").description == "$HOME and ${HOME}"


def test_databricks_engine_without_the_tenants_cluster_is_a_config_error(root):
    replace(root, "retail/pipelines/sales.yaml", "target:", "engine: databricks\ntarget:")
    error = the_error(root, "retail")
    assert error.file.name == "sales.yaml" and error.field == "engine"
    assert ("runs on engine 'databricks' but tenant.yaml of tenant 'retail' has no `databricks:` section"
            in error.message)
    assert "use `engine: local`" in error.hint


def test_pii_key_connection_of_another_tenant(root: Path) -> None:
    text = ORDERS + "pii:\n  detect: false\n  secret_connection: retail__pii\n"
    path = write_orders(root, text)
    line, column = position(path, "secret_connection:")
    check(the_error(root), path, line, column, "pii.secret_connection",
          "'retail__pii' does not belong to tenant 'finance'", hint="finance__<name>")
