"""OpenLineage end to end: a DAG run of each demo tenant, the provider's HTTP transport, a local receiver.

One receiver and one config tree (the finance orders pipeline given the EUR transform of
``lineage.finance_fx``) for the module; the DAGs run with ``airflow dags test``, whose in-process task
runs call the provider's listener like a worker's. Every event received must validate against the
vendored OpenLineage schemas. The lineage graph of the finance run is written, as Mermaid, to
``test-artifacts/lineage/graph.md`` (the README's "Lineage (OpenLineage)" shows it).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import REPO
from e2e.helpers import demo_tree, run_dag
from lineage.finance_fx import add_transform, expected_column_lineage
from lineage.ol_schema import standard_facets, validate

pytestmark = pytest.mark.e2e

LOGICAL_DATE = "2026-12-06"
DAGS = ("finance__orders", "retail__sales", "healthcare__appointments")
ARTIFACT = REPO / "test-artifacts" / "lineage" / "graph.md"


class _Receiver(BaseHTTPRequestHandler):
    events: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.events.append({"path": self.path, "event": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Receiver", (_Receiver,), {"events": []}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _fx_rates_lookup(home, config_dir) -> None:
    """The transform's lookup table finance.fx_rates (loaded by its own pipeline in production)."""
    import pyarrow as pa

    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.loader import load_platform

    platform = load_platform(config_dir).config
    (home / "catalog").mkdir(parents=True, exist_ok=True)
    catalog = open_catalog("local", platform.catalogs["local"], str(home), tenant_id="finance")
    catalog.create_namespace_if_not_exists("finance")
    rates = pa.table({"rate_date": ["2026-11-02", "2026-11-03"], "base": ["EUR", "EUR"], "quote": ["USD", "USD"],
                      "rate": [1.08, 1.09]})
    catalog.create_table("finance.fx_rates", schema=rates.schema).append(rates)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, airflow_db, receiver):
    root = tmp_path_factory.mktemp("lineage-run")
    home, env = demo_tree(root)
    add_transform(root / "tenant_configs")
    _fx_rates_lookup(home, root / "tenant_configs")
    sources = home / "sources"
    host, port = receiver.server_address[:2]
    env.update({
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "http", "url": f"http://{host}:{port}",
                                                       "endpoint": "api/v1/lineage"}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "tenantflow",
        "AIRFLOW_CONN_FINANCE__ERP": json.dumps({"conn_type": "sqlite", "host": str(sources / "finance" / "erp.db")}),
        "AIRFLOW_CONN_HEALTHCARE__CLINIC": json.dumps({"conn_type": "sqlite",
                                                       "host": str(sources / "healthcare" / "clinic.db")}),
    })
    for dag_id in DAGS:
        result = run_dag(dag_id, LOGICAL_DATE, env=env)
        assert "state=success" in result.stdout + result.stderr, f"{dag_id} did not succeed"
    events = [e["event"] for e in receiver.RequestHandlerClass.events]
    assert {e["path"] for e in receiver.RequestHandlerClass.events} == {"/api/v1/lineage"}
    return {"home": home, "events": events, "sources": sources}


def _completed(events, dag_id):
    """task id -> the COMPLETE event of that task of ``dag_id``."""
    return {e["job"]["name"].split(".", 1)[1]: e for e in events
            if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith(f"{dag_id}.")}


def _ids(datasets):
    return [(d["namespace"], d["name"]) for d in datasets]


def test_every_event_received_validates_against_the_openlineage_schemas(runs):
    events = runs["events"]
    problems = {f"{e['job']['name']} {e['eventType']}": p for e in events if (p := validate(e))}
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACT.parent / "events.json").write_text(json.dumps(events, indent=1))
    print(f"{len(events)} OpenLineage events received, {len(events) - len(problems)} validate")  # noqa: T201
    assert problems == {}
    facets = set().union(*(standard_facets(e) for e in events))
    assert {"schema", "columnLineage", "dataQualityAssertions", "dataQualityMetrics", "outputStatistics",
            "tags", "catalog"} <= facets
    for dag_id in DAGS:
        tasks = _completed(events, dag_id)
        assert set(tasks) >= {"extract", "land", "quality", "load", "register"}, dag_id
        started = {e["job"]["name"] for e in events if e["eventType"] == "START"}
        assert {f"{dag_id}.{t}" for t in tasks} <= started


def test_each_tenants_run_names_its_inputs_and_outputs(runs):
    events, home, sources = runs["events"], runs["home"], runs["sources"]
    orders, sales, visits = (_completed(events, d) for d in DAGS)
    assert _ids(orders["extract"]["inputs"]) == [(f"sqlite://{sources / 'finance' / 'erp.db'}", "orders")]
    assert _ids(sales["extract"]["inputs"]) == [("file", str(sources / "retail" / "sales"))]
    assert _ids(visits["extract"]["inputs"]) == [(f"sqlite://{sources / 'healthcare' / 'clinic.db'}", "appointments")]
    for tasks, tenant, table in ((orders, "finance", "orders"), (sales, "retail", "sales"),
                                 (visits, "healthcare", "appointments")):
        assert _ids(tasks["land"]["outputs"]) == [("file", str(home / "landing" / tenant / table))]
        assert _ids(tasks["load"]["outputs"]) == [(f"iceberg://local/{tenant}", f"{tenant}.{table}")]
        loaded = tasks["load"]["outputs"][0]
        assert loaded["outputFacets"]["outputStatistics"]["rowCount"] > 0
        assert f"{table[:-1]}_id" in {f["name"] for f in loaded["facets"]["schema"]["fields"]}
        job_tags = {t["key"] for t in tasks["load"]["job"]["facets"]["tags"]["tags"]}
        assert f"tenant:{tenant}" in job_tags
        assert tasks["load"]["job"]["namespace"] == "tenantflow"
    classification = {t["key"]: t["value"] for t in visits["register"]["outputs"][0]["facets"]["tags"]["tags"]
                      if "field" not in t}
    assert classification == {"classification": "highly_restricted"}


def test_the_quality_event_carries_each_rule_and_the_flagged_rows(runs):
    quality = _completed(runs["events"], "finance__orders")["quality"]["inputs"][0]["inputFacets"]
    assertions = {a["assertion"]: a for a in quality["dataQualityAssertions"]["assertions"]}
    assert assertions["not_null(order_id)"]["success"] is True
    assert assertions["not_null(order_id)"]["column"] == "order_id"
    assert assertions["range(amount)"]["column"] == "amount"
    assert quality["dataQualityMetrics"]["rowCount"] > 0
    assert quality["tenantflow_quality"]["flaggedRows"] >= 0


def test_the_finance_orders_transform_carries_exactly_its_column_lineage(runs):
    transform = _completed(runs["events"], "finance__orders")["transform"]
    batch, fx = _ids(transform["inputs"])
    assert fx == ("iceberg://local/finance", "finance.fx_rates")
    facet = {k: v for k, v in transform["outputs"][0]["facets"]["columnLineage"].items() if not k.startswith("_")}
    assert facet == expected_column_lineage(batch, fx)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(mermaid(runs["events"], "finance__orders"))


def mermaid(events, dag_id: str) -> str:
    """The run's lineage graph: datasets (rounded) and tasks (boxes), from the COMPLETE events."""
    nodes, edges = {}, []

    def node(key: str, label: str, shape: str) -> str:
        return nodes.setdefault(key, (f"n{len(nodes)}", label, shape))[0]

    for task, event in _completed(events, dag_id).items():
        job = node(event["job"]["name"], task, "box")
        for d in event["inputs"]:
            edges.append(f"{node(d['namespace'] + d['name'], _short(d), 'round')} --> {job}")
        for d in event["outputs"]:
            edges.append(f"{job} --> {node(d['namespace'] + d['name'], _short(d), 'round')}")
    shapes = {"box": '["{}"]', "round": '("{}")'}
    lines = ["flowchart LR", *(f"  {key}{shapes[shape].format(label)}" for key, label, shape in nodes.values()),
             *(f"  {edge}" for edge in dict.fromkeys(edges))]
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"


def _short(dataset: dict) -> str:
    name = dataset["name"]
    if dataset["namespace"] == "file":
        name = "/".join(name.split("/")[-3:])
    return f"{dataset['namespace'].split('://')[0]}: {name}"
