"""GraphQL sources against a local GraphQL API (graphql-core executing a real schema over 2,500 orders).

Through the tenant's connection and the normal stages: extract stages the pages, land publishes the batch,
load commits it to Iceberg. Relay pages are each read once; GraphQL errors fail the extract and publish
nothing, or (allow_partial_errors) go to the reject location with their messages; 429/503 are retried.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from sources.local_graphql import ORDERS, Api, cursor_of
from sources.local_http import serve
from tenantflow.config.graphql import GraphQLSource
from tenantflow.config.loader import load_tenant
from tenantflow.config.models import Source, Target
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.landing.store import LandingHook
from tenantflow.pipeline_context import PipelineContext
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.graphql import GraphQLReader, GraphQLSourceError, GraphQLSourceHook
from tenantflow.sources.http import HttpAuth, HttpSourceError

RUN = "manual__2026-12-04T10:00:00+00:00"
TOKEN = "gql-t0ken"
RELAY = """
query Orders($first: Int!, $after: String, $status: String) {
  orders(first: $first, after: $after, status: $status) {
    edges { node { id status total customer { country tier } placedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture(scope="module")
def server():
    with serve(Api) as base:
        yield base


@pytest.fixture(autouse=True)
def reset():
    Api.reset()
    yield
    Api.reset()


@pytest.fixture
def connection(server, monkeypatch):
    """The tenant's own HTTP connection to the local API, with a bearer token the API insists on."""
    host, port = server.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__SHOP", json.dumps(
        {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "password": TOKEN}))
    Api.token = TOKEN
    return "retail__shop"


def source(**fields) -> GraphQLSource:
    config = {"kind": "graphql", "connection_id": "retail__shop", "query": RELAY, "records_path": "data.orders",
              "pagination": {"style": "relay", "page_size": 100}, "backoff_seconds": 0, **fields}
    parsed = TypeAdapter(Source).validate_python(config)
    assert isinstance(parsed, GraphQLSource)
    return parsed


def read(base: str, bad_rows: BadRows | None = None, **fields) -> pa.Table:
    reader = GraphQLReader(base, source(**fields), HttpAuth(), bad_rows=bad_rows, sleep=lambda s: None)
    tables = list(reader.pages())
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def pipeline_ctx(repo, home, src: GraphQLSource) -> PipelineContext:
    bundle = load_tenant(repo / "tenant_configs", "retail")
    pipeline = bundle.pipeline("sales").model_copy(update={
        "source": src, "incremental": None, "quality": (), "transform": None, "schedule": None, "pii": None,
        "target": Target(table="shop_orders", mode="append")})
    return PipelineContext(bundle.tenant, pipeline, bundle.platform, str(home))


class _TaskInstance:
    def __init__(self, pushed: dict) -> None:
        self.pushed = pushed

    def xcom_pull(self, task_ids: str):
        return self.pushed.get(task_ids)


def extract_and_land(ctx: PipelineContext) -> tuple[dict, dict]:
    from tenantflow.operators.extract import ExtractOperator
    from tenantflow.operators.land import LandOperator

    extracted = ExtractOperator(task_id="extract", pipeline_ctx=ctx).execute({"run_id": RUN})
    landed = LandOperator(task_id="land", extract_task_id="extract", pipeline_ctx=ctx).execute(
        {"run_id": RUN, "ti": _TaskInstance({"extract": extracted})})
    return extracted, landed


def test_every_relay_page_is_loaded_exactly_once_through_extract_land_and_load(repo, tmp_path, connection):
    from tenantflow.catalog.hook import IcebergHook
    from tenantflow.loading.run_load import load_run

    ctx = pipeline_ctx(repo, tmp_path, source(connection_id=connection))
    extracted, landed = extract_and_land(ctx)
    assert extracted["rows"] == landed["rows"] == 2500 and extracted["rejected_rows"] == 0
    batch = LandingHook(ctx.batch(RUN)).read()
    assert sorted(batch["id"].to_pylist()) == [o["id"] for o in ORDERS]  # each order once: no page twice
    assert batch.schema.field("customer").type == pa.struct([("country", pa.string()), ("tier", pa.int64())])
    assert len(Api.requests) == 25 and all(r["auth"] == f"Bearer {TOKEN}" for r in Api.requests)
    cursors = [r["variables"]["after"] for r in Api.requests]
    assert cursors == [None, *(cursor_of(i) for i in range(99, 2499, 100))]
    assert {r["variables"]["first"] for r in Api.requests} == {100}
    hook = IcebergHook(ctx)
    assert load_run(ctx, RUN, hook)["rows"] == 2500
    table = hook.table().scan().to_arrow()
    assert table.num_rows == 2500 and sorted(table["id"].to_pylist()) == list(range(1, 2501))


def test_nodes_instead_of_edges_and_column_types(server):
    query = RELAY.replace("edges { node { id status total customer { country tier } placedAt } }",
                          "nodes { id status total placedAt }")
    table = read(server, query=query, pagination={"style": "relay", "page_size": 500},
                 column_types={"placedAt": "date", "total": "decimal(10,2)"})
    assert table.num_rows == 2500 and len(Api.requests) == 5
    assert table.schema.field("placedAt").type == pa.date32()
    assert table.schema.field("total").type == pa.decimal128(10, 2)


def test_variables_are_sent_with_every_page(server):
    table = read(server, variables={"status": "cancelled"})
    expected = [o["id"] for o in ORDERS if o["status"] == "cancelled"]
    assert sorted(table["id"].to_pylist()) == expected and set(table["status"].to_pylist()) == {"cancelled"}
    assert len(Api.requests) == 9 and all(r["variables"]["status"] == "cancelled" for r in Api.requests)


def test_more_pages_than_max_pages_fails_instead_of_loading_a_part(server):
    with pytest.raises(GraphQLSourceError, match=r"more than max_pages=3 pages \(of 100 records\); raise "
                                                 r"pagination.max_pages"):
        read(server, pagination={"style": "relay", "page_size": 100, "max_pages": 3})
    assert len(Api.requests) == 3
    Api.reset()
    assert read(server, pagination={"style": "relay", "page_size": 100, "max_pages": 25}).num_rows == 2500


def test_without_pagination_one_request_reads_one_page(server):
    query = "query { orders(first: 7) { edges { node { id } } } }"
    table = read(server, query=query, pagination={"style": "none"})
    assert table["id"].to_pylist() == list(range(1, 8)) and len(Api.requests) == 1


def test_an_errors_array_fails_the_extract_and_publishes_no_batch(repo, tmp_path, connection):
    Api.fail_after = cursor_of(499)  # page 6 of 25: the `orders` field fails, data is null
    ctx = pipeline_ctx(repo, tmp_path, source(connection_id=connection, allow_partial_errors=True))
    with pytest.raises(GraphQLSourceError) as caught:
        extract_and_land(ctx)
    message = str(caught.value)
    assert "page 6: 1 GraphQL error(s): the orders service is down (path orders)" in message
    assert len(Api.requests) == 6
    assert not LandingHook(ctx.batch(RUN)).exists()  # no batch: nothing downstream can read a part of the orders
    assert list(tmp_path.rglob("_manifest.json")) == [] and list(tmp_path.rglob("_parts.json")) == []


def test_errors_with_data_fail_too_unless_partial_errors_are_allowed(server):
    Api.broken_totals = {150}
    with pytest.raises(GraphQLSourceError, match=r"page 2: 1 GraphQL error\(s\): total of order 150 is being "
                                                 r"recalculated \(path orders\.edges\.49\.node\.total\) \(nothing "
                                                 r"was loaded; allow_partial_errors: true"):
        read(server)


def test_partial_errors_with_the_flag_reject_the_named_records(repo, tmp_path, connection):
    Api.broken_totals = {7, 150, 2500}
    ctx = pipeline_ctx(repo, tmp_path, source(connection_id=connection, allow_partial_errors=True))
    extracted, landed = extract_and_land(ctx)
    assert extracted["rows"] == landed["rows"] == 2497 and extracted["rejected_rows"] == 3
    batch = LandingHook(ctx.batch(RUN)).read()
    assert {7, 150, 2500}.isdisjoint(batch["id"].to_pylist()) and batch["total"].null_count == 0
    rejects = pq.read_table(f"{extracted['rejects']}/rejects.parquet").to_pylist()
    assert [(r["row"], r["column"], r["reason"]) for r in rejects] == [
        (7, "total", "GraphQL error: total of order 7 is being recalculated"),
        (50, "total", "GraphQL error: total of order 150 is being recalculated"),
        (100, "total", "GraphQL error: total of order 2500 is being recalculated")]
    assert rejects[1]["file"].endswith("/graphql page 2") and json.loads(rejects[1]["raw"])["id"] == 150


def test_max_rejected_rows_bounds_partial_errors(server):
    Api.broken_totals = set(range(1, 30))
    from tenantflow.sources.bad_rows import TooManyRejectedRows

    with pytest.raises(TooManyRejectedRows, match="more than max_rejected_rows=10"):
        read(server, BadRows("reject", 10), allow_partial_errors=True, max_rejected_rows=10)


def test_429_and_503_then_success_are_retried(server):
    Api.statuses = [429, 503, 503]
    table = read(server, retries=3)
    assert table.num_rows == 2500 and len(Api.requests) == 25 + 3
    assert [r["variables"]["after"] for r in Api.requests[:4]] == [None] * 4  # the same page asked again


def test_persistent_503_gives_up_naming_the_endpoint_and_attempts(server):
    Api.statuses = [503] * 10
    with pytest.raises(HttpSourceError, match=r"/graphql: HTTP 503: still failing after 3 attempts"):
        read(server, retries=2)
    assert len(Api.requests) == 3


def test_a_query_the_server_rejects_names_the_graphql_message(server):
    query = RELAY.replace("placedAt } }", "placedAt shippedAt } }")
    with pytest.raises(GraphQLSourceError, match=r"Cannot query field 'shippedAt' on type 'Order'\. \(line 4, "
                                                 r"column \d+ of the query\)"):
        read(server, query=query)


def test_the_hook_reads_through_the_tenants_connection_and_refuses_anothers(connection):
    hook = GraphQLSourceHook(tenant_id="retail", connection_id=connection)
    tables = list(hook.read(source(pagination={"style": "relay", "page_size": 500})))
    assert sum(t.num_rows for t in tables) == 2500 and {r["auth"] for r in Api.requests} == {f"Bearer {TOKEN}"}
    Api.token = "another"
    with pytest.raises(GraphQLSourceError, match=r"HTTP 401: 1 GraphQL error\(s\): unauthenticated"):
        list(hook.read(source()))
    with pytest.raises(TenantIsolationError, match="tenant 'retail' may not use connection 'finance__shop'"):
        GraphQLSourceHook(tenant_id="retail", connection_id="finance__shop")


def test_a_server_that_does_not_move_on_fails_instead_of_looping(server):
    reader = GraphQLReader(server, source(), HttpAuth())
    stuck = {"pageInfo": {"hasNextPage": True, "endCursor": "c1"}}
    with pytest.raises(GraphQLSourceError, match="hasNextPage is true but endCursor is 'c1'"):
        reader._next_cursor(stuck, "page 2", "c1")
    with pytest.raises(GraphQLSourceError, match=r"relay pagination needs `pageInfo \{ hasNextPage endCursor \}`"):
        reader._next_cursor({"edges": []}, "page 1", None)
    assert reader._next_cursor({"pageInfo": {"hasNextPage": False, "endCursor": None}}, "page 9", "c8") is None


def test_a_graphql_pipeline_gets_the_batch_stages_and_says_its_source(repo, tmp_path):
    from tenantflow.factory.dag_builder import build_dag

    dag = build_dag(pipeline_ctx(repo, tmp_path, source(pagination={"style": "relay", "page_size": 250})))
    assert [t.task_id for t in dag.topological_sort()][:3] == ["extract", "land", "quality"]
    assert "GraphQL API `retail__shop` → `/graphql` `data.orders` (Relay pages of 250)" in dag.doc_md
