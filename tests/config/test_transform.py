"""The `transform:` block: SQL checked at validation time, errors at the SQL's line; lookups stay in the tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantflow.config import ConfigErrors, load_tenant
from yaml_edits import MINIMAL_PIPELINE, position

ORDERS = MINIMAL_PIPELINE + """\
transform:
  sql: |
    SELECT o.order_id, CAST(o.amount AS DECIMAL(12, 2)) AS amount, c.segment
    FROM batch AS o
    JOIN customers AS c ON o.customer_id = c.customer_id
    WHERE {predicate}
  lookups:
    customers: {lookup}
"""


@pytest.fixture
def root(config_tree: Path) -> Path:
    return config_tree / "tenant_configs"


def write_orders(root: Path, predicate: str = "o.amount > 0", lookup: str = "customers") -> Path:
    path = root / "finance" / "pipelines" / "orders.yaml"
    path.write_text(ORDERS.format(predicate=predicate, lookup=lookup), encoding="utf-8")
    return path


def errors(root: Path) -> list:
    with pytest.raises(ConfigErrors) as info:
        load_tenant(root, "finance")
    return info.value.errors


def test_a_valid_transform_loads(root):
    write_orders(root, lookup="finance_ref.customers")
    transform = load_tenant(root, "finance").pipeline("orders").transform
    assert transform.lookups == {"customers": "finance_ref.customers"}
    assert "FROM batch AS o" in transform.sql


def test_a_sql_syntax_error_points_at_its_line_in_the_yaml(root):
    path = write_orders(root, predicate="o.amount > (")
    [error] = errors(root)
    line, _ = position(path, "WHERE o.amount > (")
    assert (error.file.name, error.line, error.field) == ("orders.yaml", line, "transform.sql")
    assert "does not parse (Spark SQL), line 4" in error.message


def test_sql_may_only_read_batch_and_lookups(root):
    path = write_orders(root, predicate="o.id IN (SELECT id FROM retail.sales)")
    [error] = errors(root)
    assert error.field == "transform.sql" and error.line == position(path, "WHERE o.id IN")[0]
    assert "'retail.sales'" in error.message and "batch, customers" in error.message


def test_sql_may_not_call_file_reading_table_functions(root):
    write_orders(root, predicate="o.id IN (SELECT id FROM read_parquet('/data/retail/*.parquet'))")
    [error] = errors(root)
    assert "table function" in error.message


def test_a_lookup_in_another_tenants_namespace_is_refused(root):
    path = write_orders(root, lookup="retail.customers")
    [error] = errors(root)
    assert error.field == "transform.lookups.customers"
    assert error.line == position(path, "customers: retail.customers")[0]
    assert "does not belong to tenant 'finance'" in error.message and "'finance_<suffix>'" in error.hint


def test_batch_is_reserved_as_a_lookup_name(root):
    path = root / "finance" / "pipelines" / "orders.yaml"
    path.write_text(ORDERS.format(predicate="true", lookup="customers") + "    batch: other\n", encoding="utf-8")
    messages = [e.message for e in errors(root)]
    assert any("other than 'batch'" in m for m in messages)
