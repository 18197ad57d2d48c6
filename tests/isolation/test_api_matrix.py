"""Proof over HTTP: every tenant role (and the platform roles) against every tenant's resources.

A real ``airflow api-server`` (FAB auth manager) on a PostgreSQL database of its own, after
``tenantflow sync --demo-users`` for the three demo tenants. Each user signs in through
``/auth/token`` and calls the public REST API v2 on its own and the other tenants' DAGs, runs,
task instances, logs, XComs, event logs, import errors, pools, connections, variables and assets.
What each call should return is computed from the permissions ``desired_state`` gives the
user's roles (the code ``tenantflow sync`` applied), through FAB's rules in api_expectations.py.

A *leak* is a call that succeeded, or a list that showed an item, where the matrix says no.
A *denial* is a call the matrix allows that failed. Both must be 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

from isolation.api_expectations import Grants, Requirement, on_dag, on_dag_entity, on_resource, user_grants
from isolation.browser import chromium_fixture  # noqa: F401 - the `chromium` fixture
from isolation.stack import Stack, drop_database, fresh_database, login
from tenantflow.config.loader import load_all
from tenantflow.isolation.access_matrix import CREATE, EDIT, READ
from tenantflow.isolation.desired import DesiredState, desired_state

pytestmark = pytest.mark.e2e

PROBE_KEY = "tenantflow_probe"


@dataclass
class TenantWorld:
    dags: dict[str, tuple[str, str]] = field(default_factory=dict)  # dag_id -> (run_id, task_id)
    asset_id: int | None = None
    import_error_id: int | None = None
    event_log_id: int | None = None
    namespace: str = ""


@dataclass
class World:
    base: str
    desired: DesiredState
    tenants: dict[str, TenantWorld]
    stack: Stack

    def tenant_of_dag(self, dag_id: str) -> str:
        return dag_id.split("__", 1)[0]

    @property
    def all_dags(self) -> list[str]:
        return sorted(d for t in self.tenants.values() for d in t.dags)


def _ok(response) -> None:
    assert response.status_code in (200, 201), f"{response.request.method} {response.request.url}: " \
        f"{response.status_code} {response.text[:400]}"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("api-matrix")
    db_url = fresh_database("api")
    stack = Stack(root, db_url)
    try:
        stack.migrate_sync_parse()
        bundles, failures = load_all(Path(os.environ["TENANTFLOW_CONFIG_DIR"]))
        assert not failures and set(bundles) == {"finance", "retail", "healthcare"}, failures
        desired = desired_state(bundles, demo_users=True)
        tenants = {t: TenantWorld(namespace=b.tenant.catalog.namespace) for t, b in bundles.items()}
        _record_import_errors(db_url, list(bundles))
        base = stack.start_api_server()
        admin = login(base, "platform_admin")
        _seed(admin, tenants)
        yield World(base, desired, tenants, stack)
    finally:
        stack.stop()
        drop_database(db_url)


def _record_import_errors(db_url: str, tenant_ids: list[str]) -> None:
    """What the dag-processor records when a tenant's file fails after it had parsed (one per tenant)."""
    conn = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
    with conn, conn.cursor() as cur:
        for tenant_id in tenant_ids:
            cur.execute("SELECT DISTINCT relative_fileloc, bundle_name FROM dag WHERE dag_id LIKE %s",
                        (f"{tenant_id}\\_\\_%",))
            ((relative, bundle),) = cur.fetchall()
            cur.execute("INSERT INTO import_error (timestamp, filename, bundle_name, stacktrace) "
                        "VALUES (now(), %s, %s, %s)",
                        (relative, bundle, f"ConfigError: tenant_configs/{tenant_id}/pipelines/x.yaml: secret"))
    conn.close()


def _seed(admin, tenants: dict[str, TenantWorld]) -> None:
    """One run per DAG (task instances come with it), an XCom, a connection, a variable per tenant."""
    dags = [d["dag_id"] for d in admin.get("/api/v2/dags", params={"limit": 100}).json()["dags"]]
    for dag_id in (d for d in dags if "__" in d):  # tenant DAGs; platform DAGs (usage report) are no tenant's
        tenant = tenants[dag_id.split("__", 1)[0]]
        created = admin.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        _ok(created)
        run_id = created.json()["dag_run_id"]
        tis = admin.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        task_id = sorted(ti["task_id"] for ti in tis)[0]
        _ok(admin.post(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries",
                       json={"key": PROBE_KEY, "value": {"tenant": dag_id}}))
        tenant.dags[dag_id] = (run_id, task_id)
    for tenant_id, tenant in tenants.items():
        _ok(admin.post("/api/v2/connections", json={
            "connection_id": f"{tenant_id}__erp", "conn_type": "sqlite", "host": f"/data/{tenant_id}.db",
            "password": f"{tenant_id}-secret"}))
        _ok(admin.post("/api/v2/variables", json={"key": f"{tenant_id}__settings", "value": "{}"}))
        first_dag = sorted(tenant.dags)[0]
        events = admin.get("/api/v2/eventLogs", params={"dag_id": first_dag, "limit": 1}).json()["event_logs"]
        tenant.event_log_id = events[0]["event_log_id"]
    for asset in admin.get("/api/v2/assets", params={"limit": 100}).json()["assets"]:
        # a table '<namespace>.<table>' (register's outlet) or a file-arrival Asset '<tenant>__<pipeline>__…'
        owner = next(w for t, w in tenants.items() if asset["name"].startswith((f"{w.namespace}.", f"{t}__")))
        owner.asset_id = owner.asset_id or asset["id"]
    for error in admin.get("/api/v2/importErrors", params={"limit": 100}).json()["import_errors"]:
        tenants[Path(error["filename"]).stem].import_error_id = error["import_error_id"]
    missing = {t: w for t, w in tenants.items() if None in (w.asset_id, w.import_error_id, w.event_log_id)}
    assert not missing, f"seeding incomplete: {missing}"


@dataclass(frozen=True)
class Probe:
    """One call against one tenant's resource, and what FAB requires for it."""

    name: str
    method: str
    path: str
    requirement: Requirement
    dag: str | None = None
    body: dict | None = None
    params: dict | None = None
    also: bool = True  # a condition beyond permissions (e.g. import errors: readable DAG in the file)


def dag_probes(dag: str, run_id: str, task_id: str) -> list[Probe]:
    run = f"/api/v2/dags/{dag}/dagRuns/{run_id}"
    ti = f"{run}/taskInstances/{task_id}"
    return [
        Probe("dag.get", "GET", f"/api/v2/dags/{dag}", on_dag(READ), dag),
        Probe("dag.details", "GET", f"/api/v2/dags/{dag}/details", on_dag(READ), dag),
        Probe("dag.source", "GET", f"/api/v2/dagSources/{dag}", on_dag_entity(READ, "DAG Code"), dag),
        Probe("dag.patch_paused", "PATCH", f"/api/v2/dags/{dag}", on_dag(EDIT), dag, body={"is_paused": True}),
        Probe("runs.list", "GET", f"/api/v2/dags/{dag}/dagRuns", on_dag_entity(READ, "DAG Runs"), dag),
        Probe("run.get", "GET", run, on_dag_entity(READ, "DAG Runs"), dag),
        Probe("run.trigger", "POST", f"/api/v2/dags/{dag}/dagRuns", on_dag_entity(CREATE, "DAG Runs"), dag,
              body={"logical_date": None}),
        Probe("run.clear", "POST", f"{run}/clear", on_dag_entity(EDIT, "DAG Runs"), dag, body={"dry_run": True}),
        Probe("tis.list", "GET", f"{run}/taskInstances", on_dag_entity(READ, "DAG Runs", "Task Instances"), dag),
        Probe("ti.get", "GET", ti, on_dag_entity(READ, "DAG Runs", "Task Instances"), dag),
        Probe("ti.clear", "POST", f"/api/v2/dags/{dag}/clearTaskInstances",
              on_dag_entity(EDIT, "DAG Runs", "Task Instances"), dag,
              body={"dry_run": True, "dag_run_id": run_id, "task_ids": [task_id]}),
        Probe("ti.log", "GET", f"{ti}/logs/0", on_dag_entity(READ, "Task Logs"), dag),
        Probe("xcom.list", "GET", f"{ti}/xcomEntries", on_dag_entity(READ, "XComs"), dag),
        Probe("xcom.get", "GET", f"{ti}/xcomEntries/{PROBE_KEY}", on_dag_entity(READ, "XComs"), dag),
        Probe("eventlogs.of_dag", "GET", "/api/v2/eventLogs", on_dag_entity(READ, "Audit Logs"), dag,
              params={"dag_id": dag}),
    ]


def tenant_probes(world: World, tenant_id: str, grants: Grants) -> list[Probe]:
    t = world.tenants[tenant_id]
    reads_a_dag = any(grants.allows(on_dag(READ), d) for d in t.dags)
    first_dag = sorted(t.dags)[0]
    return [
        Probe("pool.get", "GET", f"/api/v2/pools/tenant_{tenant_id}", on_resource(READ, "Pools")),
        Probe("pool.patch_slots", "PATCH", f"/api/v2/pools/tenant_{tenant_id}", on_resource(EDIT, "Pools"),
              body={"pool": f"tenant_{tenant_id}", "slots": world.desired.pools[f"tenant_{tenant_id}"],
                    "include_deferred": False}, params={"update_mask": "slots"}),
        Probe("connection.get", "GET", f"/api/v2/connections/{tenant_id}__erp", on_resource(READ, "Connections")),
        Probe("variable.get", "GET", f"/api/v2/variables/{tenant_id}__settings", on_resource(READ, "Variables")),
        Probe("asset.get", "GET", f"/api/v2/assets/{t.asset_id}", on_resource(READ, "Assets")),
        Probe("import_error.get", "GET", f"/api/v2/importErrors/{t.import_error_id}",
              on_resource(READ, "ImportError"), also=reads_a_dag),
        Probe("eventlog.get", "GET", f"/api/v2/eventLogs/{t.event_log_id}", on_dag_entity(READ, "Audit Logs"),
              first_dag),
    ]


@dataclass(frozen=True)
class Listing:
    """A list endpoint: which tenant each item belongs to, and which items the user may see."""

    name: str
    path: str
    key: str
    requirement: Requirement
    owner: str  # item field naming the tenant: dag_id | pool | connection_id | key | name | filename


LISTINGS = (
    Listing("dags", "/api/v2/dags", "dags", on_dag(READ), "dag_id"),
    Listing("ui.dags", "/ui/dags", "dags", on_dag(READ), "dag_id"),
    Listing("runs.all", "/api/v2/dags/~/dagRuns", "dag_runs", on_dag_entity(READ, "DAG Runs"), "dag_id"),
    Listing("tis.all", "/api/v2/dags/~/dagRuns/~/taskInstances", "task_instances",
            on_dag_entity(READ, "DAG Runs", "Task Instances"), "dag_id"),
    Listing("xcoms.all", "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries", "xcom_entries",
            on_dag_entity(READ, "XComs"), "dag_id"),
    Listing("eventlogs.all", "/api/v2/eventLogs", "event_logs", on_dag_entity(READ, "Audit Logs"), "dag_id"),
    Listing("import_errors.all", "/api/v2/importErrors", "import_errors", on_resource(READ, "ImportError"),
            "filename"),
    Listing("pools.all", "/api/v2/pools", "pools", on_resource(READ, "Pools"), "name"),
    Listing("connections.all", "/api/v2/connections", "connections", on_resource(READ, "Connections"),
            "connection_id"),
    Listing("variables.all", "/api/v2/variables", "variables", on_resource(READ, "Variables"), "key"),
    Listing("assets.all", "/api/v2/assets", "assets", on_resource(READ, "Assets"), "name"),
)


def _item_tenant(world: World, listing: Listing, item: dict) -> str | None:
    value = item.get(listing.owner)
    if not value:
        return None
    if listing.owner == "filename":
        return Path(value).stem
    if listing.owner == "name" and listing.key == "pools":
        return value.removeprefix("tenant_") if value.startswith("tenant_") else None
    if listing.owner == "name":
        return next((t for t, w in world.tenants.items() if value.startswith(f"{w.namespace}.")), None)
    return value.split("__", 1)[0] if "__" in value else None


def _may_see(world: World, listing: Listing, grants: Grants, item: dict) -> bool:
    if not grants.allows(tuple(g for g in listing.requirement if not any("{dag}" in r for _, r in g))):
        return False
    tenant = _item_tenant(world, listing, item)
    if grants.tenants and tenant is not None and tenant not in grants.tenants:
        return False  # a tenant role never sees another tenant's items, whatever the matrix grants
    if listing.owner == "dag_id" and item.get("dag_id"):
        return grants.allows(listing.requirement, item["dag_id"])
    if listing.key == "import_errors" and tenant in world.tenants:
        return any(grants.allows(on_dag(READ), d) for d in world.tenants[tenant].dags)
    return True


@dataclass
class Tally:
    checks: int = 0
    leaks: list[str] = field(default_factory=list)
    denials: list[str] = field(default_factory=list)
    foreign: int = 0  # calls on another tenant's resources by a tenant role


def _probe(client, tally: Tally, user: str, grants: Grants, probe: Probe, own: bool) -> None:
    # a tenant role never reaches another tenant's resources, whatever the matrix grants
    expected = probe.also and grants.allows(probe.requirement, probe.dag) and (own or not grants.tenants)
    response = client.request(probe.method, probe.path, json=probe.body, params=probe.params)
    tally.checks += 1
    tally.foreign += bool(grants.tenants) and not own
    where = f"{user} {probe.name} {probe.method} {probe.path} ({'own' if own else 'other tenant'})"
    succeeded = 200 <= response.status_code < 300
    if probe.name == "eventlogs.of_dag" and succeeded and not expected:
        # a list call filtered to nothing is not a leak; showing an entry of that DAG is
        succeeded = bool(response.json().get("event_logs"))
    if succeeded and not expected:
        tally.leaks.append(f"{where}: HTTP {response.status_code}, matrix says no")
    elif expected and not succeeded:
        tally.denials.append(f"{where}: HTTP {response.status_code} {response.text[:200]}, matrix says yes")
    elif not expected and response.status_code not in (403, 404) and not (200 <= response.status_code < 300):
        tally.denials.append(f"{where}: HTTP {response.status_code} (expected 403/404)")


def _list(world: World, client, tally: Tally, user: str, grants: Grants, listing: Listing) -> None:
    response = client.get(listing.path, params={"limit": 1000})
    tally.checks += 1
    seeded = _seeded_items(world, listing)
    should_see = {k for k, item in seeded.items() if _may_see(world, listing, grants, item)}
    if response.status_code in (403, 404):
        if should_see:
            tally.denials.append(f"{user} {listing.name}: HTTP {response.status_code}, matrix shows {should_see}")
        return
    assert response.status_code == 200, f"{user} {listing.name}: {response.status_code} {response.text[:300]}"
    items = response.json()[listing.key]
    seen = {_identity(listing, item) for item in items}
    foreign = sorted(_identity(listing, i) for i in items if not _may_see(world, listing, grants, i))
    if foreign:
        tally.leaks.append(f"{user} {listing.name}: shows {foreign[:5]} ({len(foreign)} items) matrix says no")
    missing = should_see - seen
    if missing:
        tally.denials.append(f"{user} {listing.name}: hides {sorted(missing)[:5]}, matrix shows them")


def _identity(listing: Listing, item: dict) -> str:
    return "/".join(str(item.get(k, "")) for k in (listing.owner, "dag_run_id", "task_id", "key", "id"))


_SEEDED: dict[str, dict[str, dict]] = {}


def _seeded_items(world: World, listing: Listing) -> dict[str, dict]:
    """Everything the list holds, as platform_admin sees it (fetched once per listing)."""
    if listing.name not in _SEEDED:
        admin = login(world.base, "platform_admin")
        items = admin.get(listing.path, params={"limit": 1000}).json()[listing.key]
        _SEEDED[listing.name] = {_identity(listing, i): i for i in items}
    return _SEEDED[listing.name]


def test_every_role_sees_and_does_exactly_what_the_matrix_grants(world: World):
    tally = Tally()
    for listing in LISTINGS:  # snapshot the lists before users add runs of their own
        _seeded_items(world, listing)
    users = sorted(world.desired.users)
    for user in users:
        grants = user_grants(world.desired, user)
        client = login(world.base, user)
        for listing in LISTINGS:
            _list(world, client, tally, user, grants, listing)
        for tenant_id, tenant in sorted(world.tenants.items()):
            for dag, (run_id, task_id) in sorted(tenant.dags.items()):
                for probe in dag_probes(dag, run_id, task_id):
                    _probe(client, tally, user, grants, probe, tenant_id in grants.tenants)
            for probe in tenant_probes(world, tenant_id, grants):
                _probe(client, tally, user, grants, probe, tenant_id in grants.tenants)
    figures = {"users": len(users), "tenants": len(world.tenants), "dags": len(world.all_dags),
               "checks": tally.checks, "cross_tenant_calls": tally.foreign, "leaks": len(tally.leaks),
               "denials": len(tally.denials)}
    print(f"\naccess matrix over HTTP: {json.dumps(figures)}")  # noqa: T201 - the figures the issue asks for
    assert tally.leaks == [], "\n".join(tally.leaks[:40])
    assert tally.denials == [], "\n".join(tally.denials[:40])
    assert tally.checks >= len(users) * len(world.all_dags) * 15


def test_a_tenant_user_cannot_raise_its_own_pool_quota(world: World):
    """The pool is the tenant's quota: even the tenant's admin cannot change its slots."""
    admin = login(world.base, "finance_admin")
    assert admin.patch("/api/v2/pools/tenant_finance", json={"slots": 99}).status_code == 403
    platform = login(world.base, "platform_admin")
    assert platform.get("/api/v2/pools/tenant_finance").json()["slots"] == world.desired.pools["tenant_finance"]


def test_tenant_user_sees_only_its_tenants_dags_in_the_browser(world: World, chromium: str, repo: Path):
    """The web UI as a person uses it: sign in as finance_engineer, open the DAG list, take a screenshot."""
    from playwright.sync_api import sync_playwright

    from tenantflow.isolation.desired import demo_password

    artifacts = repo / "test-artifacts" / "isolation"
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "finance_engineer_dag_list.png"
    finance = sorted(world.tenants["finance"].dags)
    others = [d for t, w in world.tenants.items() if t != "finance" for d in w.dags]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{world.base}/auth/login/")
            page.fill("input[name=username]", "finance_engineer")
            page.fill("input[name=password]", demo_password("finance_engineer"))
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{world.base}/dags")
            for dag_id in finance:
                page.get_by_text(dag_id, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(screenshot), full_page=True)
            text = page.inner_text("body")
        finally:
            browser.close()
    print(f"\nscreenshot of finance_engineer's DAG list: {screenshot}")  # noqa: T201 - the kept artifact
    assert all(d in text for d in finance), text[:2000]
    assert not [d for d in others if d in text], f"finance_engineer's DAG list shows other tenants: {text[:2000]}"
