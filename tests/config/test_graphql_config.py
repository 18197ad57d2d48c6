"""A graphql source's config errors name file:line, the field and what is wrong inside the query (its own
line/column); the query is parsed when the YAML is loaded, but a parse-cache hit does not import graphql-core."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tenantflow.config import ConfigErrors, load_tenant
from tenantflow.config.graphql import GraphQLSource
from yaml_edits import edit, position

PIPELINE = """\
description: Orders from the shop's GraphQL API.
source:
  kind: graphql
  connection_id: retail__shop
  records_path: data.orders
  pagination: {style: relay, page_size: 200}
  variables: {status: placed}
  query: |
    query Orders($first: Int!, $after: String, $status: String) {
      orders(first: $first, after: $after, status: $status) {
        edges { node { id status total } }
        pageInfo { hasNextPage endCursor }
      }
    }
target:
  table: shop_orders
  mode: append
"""


@pytest.fixture
def shop_orders(config_tree: Path) -> Path:
    path = config_tree / "tenant_configs" / "retail" / "pipelines" / "shop_orders.yaml"
    path.write_text(PIPELINE)
    return path


def errors(config_tree: Path):
    with pytest.raises(ConfigErrors) as exc:
        load_tenant(config_tree / "tenant_configs", "retail")
    return exc.value.errors


def test_a_valid_graphql_pipeline_loads(config_tree, shop_orders):
    source = load_tenant(config_tree / "tenant_configs", "retail").pipeline("shop_orders").source
    assert isinstance(source, GraphQLSource)
    assert (source.path, source.pagination.page_size, source.variables) == ("/graphql", 200, {"status": "placed"})
    assert (source.allow_partial_errors, source.on_bad_rows) == (False, "fail")


def test_a_query_syntax_error_names_the_file_the_field_and_line_and_column_in_the_query(config_tree, shop_orders):
    edit(shop_orders, "edges { node { id status total } }", "edges { node { id status total: } }")
    (error,) = errors(config_tree)
    assert str(error.file).endswith("retail/pipelines/shop_orders.yaml") and error.field == "source.query"
    assert error.line == position(shop_orders, "query: |")[0]
    assert ("source.query is not a valid GraphQL document at line 3, column 37 of the query (`edges { node { id "
            "status total: } }`): Syntax Error: Expected Name, found '}'.") in error.message
    assert str(error).startswith("tenant_configs/retail/pipelines/shop_orders.yaml:")


def test_relay_pagination_needs_the_after_variable(config_tree, shop_orders):
    edit(shop_orders, "$after: String, ", "")
    edit(shop_orders, "after: $after, ", "")
    (error,) = errors(config_tree)
    assert error.field == "source.query" and error.line == position(shop_orders, "query: |")[0]
    assert ("pagination.style relay passes the page size as $first and the cursor as $after, but the query "
            "declares no $after") in error.message
    assert "query Orders($first: Int!, $after: String)" in error.message  # what would be right


def test_the_variable_names_of_the_relay_pagination_can_be_chosen(config_tree, shop_orders):
    edit(shop_orders, "{style: relay, page_size: 200}", "{style: relay, size_variable: n, cursor_variable: cur}")
    assert "declares no $n, $cur" in errors(config_tree)[0].message
    edit(shop_orders, "$first: Int!, $after: String", "$n: Int!, $cur: String")
    edit(shop_orders, "first: $first, after: $after", "first: $n, after: $cur")
    load_tenant(config_tree / "tenant_configs", "retail")


def test_another_tenants_connection_is_refused(config_tree, shop_orders):
    edit(shop_orders, "connection_id: retail__shop", "connection_id: finance__shop")
    (error,) = errors(config_tree)
    assert "connection 'finance__shop' does not belong to tenant 'retail'" in error.message
    assert error.line == position(shop_orders, "finance__shop")[0]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("query Orders(", "mutation Orders(", "source.query is a mutation; a source only reads"),
    ("query Orders(", "subscription Orders(", "(subscriptions are not supported)"),
    ("variables: {status: placed}", "variables: {state: placed}",
     "`variables` sets $state, which the query does not declare (it declares: $first, $after, $status)"),
    ("$status: String)", "$status: String!)", None),  # required, and set in variables: fine
    ("  variables: {status: placed}\n", "", None),  # optional, not set: fine
    ("  variables: {status: placed}\n  query: |\n    query Orders($first: Int!, $after: String, $status: String)",
     "  query: |\n    query Orders($first: Int!, $after: String, $status: String!)",
     "the query requires $status (non-null, no default)"),
    ("$after: String,", "$after: String!,", "$after must be nullable"),
    ("variables: {status: placed}", "variables: {status: placed, after: abc}",
     "variables $first and $after are set by the Relay pagination"),
    ("records_path: data.orders", "records_path: orders", "should match pattern"),
    ("  query: |", "  allow_partial_errors: true\n  on_bad_rows: fail\n  query: |",
     "allow_partial_errors records GraphQL errors as rejected rows, which `on_bad_rows: fail` forbids"),
    ("  query: |", "  max_rejected_rows: 5\n  query: |", "max_rejected_rows applies with `on_bad_rows: reject`"),
    ("    query Orders", "    query A { orders { id } }\n    query Orders",
     "source.query must hold exactly one operation (found 2)"),
], ids=["mutation", "subscription", "undeclared-variable", "required-and-set", "optional-unset",
        "required-unset", "non-null-cursor", "paginated-variable-set", "records-path", "partial-errors-fail",
        "max-rejected-without-reject", "two-operations"])
def test_what_a_graphql_source_refuses(config_tree, shop_orders, old, new, message):
    edit(shop_orders, old, new)
    if message is None:
        load_tenant(config_tree / "tenant_configs", "retail")
        return
    found = errors(config_tree)
    assert len(found) == 1 and message in found[0].message, found
    assert str(found[0].file).endswith("retail/pipelines/shop_orders.yaml")


def test_partial_errors_are_rejected_rows_by_default(config_tree, shop_orders):
    edit(shop_orders, "  query: |", "  allow_partial_errors: true\n  max_rejected_rows: 10\n  query: |")
    source = load_tenant(config_tree / "tenant_configs", "retail").pipeline("shop_orders").source
    assert (source.allow_partial_errors, source.on_bad_rows, source.max_rejected_rows) == (True, "reject", 10)


def test_the_json_schema_knows_the_graphql_kind(shop_orders):
    from tenantflow.config.schema import json_schemas

    document = yaml.safe_load(shop_orders.read_text())
    validator = Draft202012Validator(json_schemas()["pipeline"])
    assert list(validator.iter_errors(document)) == []
    document["source"]["pagination"]["style"] = "offset"
    assert list(validator.iter_errors(document)) != []


def test_a_parse_cache_hit_does_not_import_graphql_core(config_tree, shop_orders, tmp_path):
    cache_dir = tmp_path / "parse-cache"
    probe = ("import json, sys; from pathlib import Path; from tenantflow.config.loader import load_tenant; "
             f"b = load_tenant(Path({str(config_tree / 'tenant_configs')!r}), 'retail', "
             f"cache_dir=Path({str(cache_dir)!r})); "
             "print(json.dumps([b.pipeline('shop_orders').source.kind, 'graphql' in sys.modules]))")

    def run() -> list:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run() == ["graphql", True]  # the first load parses the query (and writes the cache)
    assert run() == ["graphql", False]  # the cache hit trusts that check
