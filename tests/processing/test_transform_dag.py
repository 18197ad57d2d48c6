"""End to end through Airflow: a pipeline with a transform loads the SQL's result, not the raw rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import run_cli
from e2e.helpers import demo_tree, last_run_id, open_table, run_dag, task_states
from yaml_edits import edit

pytestmark = pytest.mark.e2e

TRANSFORM = """
transform:
  sql: |
    SELECT s.sale_id, s.sku, p.category, CAST(s.quantity AS INT) AS quantity,
           CAST(s.quantity * s.unit_price AS DECIMAL(12, 2)) AS revenue, s.sold_at
    FROM batch AS s
    JOIN products AS p ON s.sku = p.sku
    WHERE s.channel = 'online'
  lookups:
    products: products
"""


DOCUMENTATION = """\
  comment: Online sales enriched with the product category
  column_comments:
    revenue: quantity x unit price, rounded to cents
    no_such_column: ignored with a warning
  properties:
    owner_team: retail-analytics
"""


@pytest.fixture(scope="module")
def transformed(tmp_path_factory, airflow_db):
    tree = tmp_path_factory.mktemp("transform")
    home, env = demo_tree(tree)
    sales = tree / "tenant_configs" / "retail" / "pipelines" / "sales.yaml"
    edit(sales, "target:\n", TRANSFORM.lstrip("\n") + "target:\n" + DOCUMENTATION)
    run_cli("tenantflow", "sync", env=env)
    assert "state=success" in run_dag("retail__products", "2026-11-26", env=env).stdout
    result = run_dag("retail__sales", "2026-11-26", env=env)
    assert "state=success" in result.stdout + result.stderr
    return env, home, result.stdout + result.stderr


def _source_sales(home: Path) -> list[dict]:
    rows = []
    for path in sorted((home / "sources" / "retail" / "sales").glob("*.csv")):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def _categories(home: Path) -> dict[str, str]:
    text = (home / "sources" / "retail" / "products.json").read_text()
    return {p["sku"]: p["category"] for p in map(json.loads, text.splitlines()) if p["sku"]}


def test_the_table_holds_the_transformed_rows(transformed):
    env, home, _ = transformed
    table = open_table("retail.sales", home=str(home)).scan().to_arrow()
    assert table.schema.names == ["sale_id", "sku", "category", "quantity", "revenue", "sold_at"]
    categories = _categories(home)
    expected = {int(r["sale_id"]): (r["sku"], categories[r["sku"]], int(r["quantity"]))
                for r in _source_sales(home) if r["channel"] == "online" and r["sku"] in categories}
    got = {r["sale_id"]: (r["sku"], r["category"], r["quantity"]) for r in table.to_pylist()}
    assert got == expected
    assert 0 < len(expected) < len(_source_sales(home))


def test_revenue_is_cast_like_spark(transformed):
    from decimal import Decimal

    env, home, _ = transformed
    table = open_table("retail.sales", home=str(home)).scan().to_arrow()
    source = {int(r["sale_id"]): r for r in _source_sales(home)}
    for row in table.to_pylist()[:200]:
        s = source[row["sale_id"]]
        assert row["revenue"] == (Decimal(s["quantity"]) * Decimal(s["unit_price"])).quantize(Decimal("0.01"))


def test_the_run_went_through_the_transform_task_and_kept_its_state(transformed):
    env, home, output = transformed
    run_id = last_run_id("retail__sales", env=env)
    assert task_states("retail__sales", run_id, env=env) == dict.fromkeys(
        ["extract", "land", "quality", "transform", "load", "register"], "success")
    snapshot = open_table("retail.sales", home=str(home)).current_snapshot()
    assert snapshot.summary.additional_properties["tenantflow.run-id"] == run_id
    from tenantflow.landing.batch import run_key

    stage = home / "landing" / "retail" / "sales" / run_key(run_id) / "_stages" / "transformed"
    assert (stage / "_manifest.json").is_file()
    manifest = json.loads((stage / "_manifest.json").read_text())
    assert manifest["source"] == "transform of the raw batch"
    assert manifest["source_files"], "the transformed batch carries the raw batch's loaded files"


def test_sync_created_the_namespace_with_ownership(transformed):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    env, home, _ = transformed
    platform = load_platform(Path(env["TENANTFLOW_CONFIG_DIR"])).config
    catalog = open_catalog("local", platform.catalogs["local"], str(home), tenant_id="retail")
    props = catalog.load_namespace_properties("retail")
    assert props["tenantflow.tenant"] == "retail" and props["tenantflow.classification"] == "internal"


def test_tables_command_lists_schema_snapshots_last_load_and_rows(transformed):
    env, home, _ = transformed
    listed = json.loads(run_cli("tenantflow", "tables", "retail", "--json", env=env).stdout)
    by_id = {t["identifier"]: t for t in listed}
    assert {"retail.sales", "retail.products"} <= set(by_id)  # next to the quality stage's own tables
    sales = by_id["retail.sales"]
    table = open_table("retail.sales", home=str(home))
    assert sales["rows"] == table.scan().to_arrow().num_rows > 0
    assert sales["snapshots"] == len(table.snapshots())
    assert sales["last_run_id"] == last_run_id("retail__sales", env=env)
    assert sales["last_load"].startswith(("2026", "20"))
    assert sales["comment"] == "Online sales enriched with the product category"
    columns = {c["name"]: c for c in sales["columns"]}
    assert columns["revenue"]["type"] == "decimal(12, 2)"
    assert columns["revenue"]["comment"] == "quantity x unit price, rounded to cents"
    assert table.properties["owner_team"] == "retail-analytics"
    text = run_cli("tenantflow", "tables", "retail", env=env).stdout
    assert f"retail.sales  pipeline=sales  rows={sales['rows']:,}" in text
    assert "revenue" in text and "-- quantity x unit price" in text
