"""`schedule: {on: file_arrival}` and `schedule: {after: [...]}`: valid forms, and errors at file:line.

Each test writes a pipeline into a writable copy of tenant_configs/ and checks the error's file, line,
column and field, or that the config loads unchanged (existing cron schedules stay valid).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantflow.config import ConfigError, ConfigErrors, load_tenant
from yaml_edits import position

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/finance-invoice-arrivals"

ARRIVALS = f"""\
description: Invoices dropped in S3
schedule:
  on: file_arrival
  queue: {QUEUE}
source:
  kind: files
  path: s3://acme-finance-drop/invoices/*.csv
  format: csv
  connection_id: finance__drop
target:
  table: invoices
  mode: append
"""

AFTER = """\
description: Orders in EUR, after the FX rates load
schedule:
  after: [finance.fx_rates]
source:
  kind: sql
  connection_id: finance__erp
  table: orders
target:
  table: orders_eur
  mode: append
"""


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def write(root: Path, name: str, text: str, tenant: str = "finance") -> Path:
    path = root / tenant / "pipelines" / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def the_error(root: Path, tenant: str = "finance") -> ConfigError:
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(root, tenant)
    assert len(exc.value.errors) == 1, "\n".join(str(e) for e in exc.value.errors)
    return exc.value.errors[0]


def at(error: ConfigError, path: Path, needle: str, field: str) -> None:
    assert (error.file, (error.line, error.column), error.field) == (path, position(path, needle), field), str(error)


def test_file_arrival_and_after_load(root):
    write(root, "invoices", ARRIVALS)
    write(root, "orders_eur", AFTER)
    bundle = load_tenant(root, "finance")
    invoices, orders_eur = bundle.pipeline("invoices"), bundle.pipeline("orders_eur")
    assert (invoices.schedule.on, invoices.schedule.queue, invoices.arrival_connection_id) == (
        "file_arrival", QUEUE, "finance__drop")
    assert invoices.schedule.describe() == "on file arrival (finance-invoice-arrivals)"
    assert orders_eur.schedule.after == ("finance.fx_rates",) and orders_eur.schedule.cron is None
    assert orders_eur.schedule.describe() == "after finance.fx_rates"


def test_existing_cron_schedules_are_unchanged(root):
    orders = load_tenant(root, "finance").pipeline("orders")
    assert (orders.schedule.cron, orders.schedule.timezone, orders.schedule.is_event_driven) == (
        "0 2 * * *", "Europe/Berlin", False)


def test_after_with_a_cron_and_a_bare_table_name(root):
    write(root, "orders_eur", AFTER.replace("  after: [finance.fx_rates]\n",
                                            "  after: [fx_rates, customers]\n  cron: '0 3 * * *'\n"))
    schedule = load_tenant(root, "finance").pipeline("orders_eur").schedule
    assert schedule.describe() == "after fx_rates & customers or 0 3 * * * UTC"


def test_file_arrival_on_a_local_files_source(root):
    path = write(root, "invoices", ARRIVALS.replace("s3://acme-finance-drop/invoices/*.csv",
                                                    "sources/finance/invoices/*.csv"))
    error = the_error(root)
    at(error, path, "on: file_arrival", "schedule.on")
    assert "needs a files source on s3://" in error.message and "local path" in error.message


def test_file_arrival_on_a_sql_source(root):
    path = write(root, "orders2", AFTER.replace("  after: [finance.fx_rates]\n",
                                                f"  on: file_arrival\n  queue: {QUEUE}\n"))
    error = the_error(root)
    at(error, path, "on: file_arrival", "schedule.on")
    assert "a 'sql' source" in error.message


def test_file_arrival_needs_a_queue(root):
    path = write(root, "invoices", ARRIVALS.replace(f"  queue: {QUEUE}\n", ""))
    error = the_error(root)
    at(error, path, "schedule:", "schedule")
    assert "needs `queue:`" in error.message


def test_file_arrival_queue_must_be_a_url(root):
    path = write(root, "invoices", ARRIVALS.replace(QUEUE, "finance-invoice-arrivals"))
    error = the_error(root)
    at(error, path, "queue:", "schedule.queue")
    assert "must be an SQS queue URL" in error.message


def test_another_tenants_queue_is_refused(root):
    path = write(root, "invoices", ARRIVALS.replace("finance-invoice-arrivals", "retail-arrivals"))
    error = the_error(root)
    at(error, path, "queue:", "schedule.queue")
    assert error.message == "queue 'retail-arrivals' is a queue of tenant 'retail'"


def test_a_queue_not_naming_the_tenant_is_refused(root):
    path = write(root, "invoices", ARRIVALS.replace("finance-invoice-arrivals", "shared-arrivals"))
    error = the_error(root)
    at(error, path, "queue:", "schedule.queue")
    assert "is not a queue of tenant 'finance'" in error.message and "finance-arrivals" in error.hint


def test_another_tenants_connection_for_the_queue_is_refused(root):
    path = write(root, "invoices", ARRIVALS.replace(f"  queue: {QUEUE}\n",
                                                    f"  queue: {QUEUE}\n  connection_id: retail__aws\n"))
    error = the_error(root)
    at(error, path, "connection_id: retail__aws", "schedule.connection_id")
    assert "does not belong to tenant 'finance'" in error.message


def test_file_arrival_needs_a_tenant_connection(root):
    path = write(root, "invoices", ARRIVALS.replace("  connection_id: finance__drop\n", ""))
    error = the_error(root)
    at(error, path, "on: file_arrival", "schedule.on")
    assert "tenant's AWS connection" in error.message


def test_file_arrival_with_overwrite_is_refused(root):
    path = write(root, "invoices", ARRIVALS.replace("mode: append", "mode: overwrite"))
    error = the_error(root)
    at(error, path, "mode: overwrite", "target.mode")
    assert "overwrite" in error.message


def test_after_another_tenants_table_is_refused(root):
    path = write(root, "orders_eur", AFTER.replace("finance.fx_rates", "retail.products"))
    error = the_error(root)
    at(error, path, "retail.products", "schedule.after.0")
    assert error.message == "after: 'retail.products' is in tenant 'retail''s namespace"


def test_after_an_unknown_table_is_refused(root):
    path = write(root, "orders_eur", AFTER.replace("finance.fx_rates", "finance.fx_ratez"))
    error = the_error(root)
    at(error, path, "finance.fx_ratez", "schedule.after.0")
    assert error.message == "after: no pipeline of tenant 'finance' loads table 'finance.fx_ratez'"
    assert "finance.fx_rates" in error.hint


def test_after_its_own_table_is_refused(root):
    path = write(root, "orders_eur", AFTER.replace("finance.fx_rates", "orders_eur"))
    error = the_error(root)
    at(error, path, "orders_eur]", "schedule.after.0")
    assert "own table" in error.message


def test_after_a_disabled_pipeline_is_refused(root):
    fx = root / "finance" / "pipelines" / "fx_rates.yaml"
    fx.write_text(fx.read_text() + "enabled: false\n")
    path = write(root, "orders_eur", AFTER)
    error = the_error(root)
    at(error, path, "finance.fx_rates", "schedule.after.0")
    assert "which is disabled" in error.message


def test_a_cycle_of_after_is_refused(root):
    a = write(root, "pipe_a", AFTER.replace("finance.fx_rates", "table_b").replace("orders_eur", "table_a"))
    write(root, "pipe_b", AFTER.replace("finance.fx_rates", "table_a").replace("orders_eur", "table_b"))
    error = the_error(root)
    at(error, a, "after:", "schedule.after")
    assert "cycle (pipe_a -> pipe_b -> pipe_a)" in error.message


def test_on_and_after_together_are_refused(root):
    path = write(root, "invoices", ARRIVALS.replace("  on: file_arrival\n",
                                                    "  on: file_arrival\n  after: [fx_rates]\n"))
    error = the_error(root)
    at(error, path, "schedule:", "schedule")
    assert "not both" in error.message


def test_an_empty_schedule_is_refused(root):
    path = write(root, "orders_eur", AFTER.replace("  after: [finance.fx_rates]\n", "  timezone: UTC\n"))
    error = the_error(root)
    at(error, path, "schedule:", "schedule")
    assert "needs `cron`, `on: file_arrival` or `after:" in error.message


def test_fresh_by_on_an_event_schedule_is_refused(root):
    path = write(root, "orders_eur", AFTER.replace("  after: [finance.fx_rates]\n",
                                                   "  after: [finance.fx_rates]\n  cron: '0 3 * * *'\n")
                 + "sla: {fresh_by: '09:00'}\n")
    error = the_error(root)
    at(error, path, "description:", "")
    assert "sla.fresh_by is measured from the cron's fire time" in error.message


def test_one_pipeline_alone_still_loads_for_a_worker(root):
    """A worker parses one pipeline's file (get_parsing_context): its upstreams are not checked there."""
    write(root, "orders_eur", AFTER.replace("finance.fx_rates", "finance.fx_ratez"))
    bundle = load_tenant(root, "finance", only_pipeline="orders_eur")
    assert bundle.pipeline("orders_eur").schedule.after == ("finance.fx_ratez",)
