"""The Tenants dashboard on a real api-server (FAB auth manager, this repo's plugins folder).

One stack for the module: ``tenantflow sync --demo-users`` for the demo tenants, 30 days of runs per
DAG seeded into the metadata DB as the stage tasks leave them. Over HTTP every dashboard endpoint is
called by each demo user for each tenant: a tenant role gets its own tenant only (403 for the others,
and for the platform overview), platform roles get all. A tenant's audit trail is read only by the Auditor,
the Platform Admin and that tenant's admin (a tenant admin gets 403 for another tenant's). Then the page in
Chromium inside the Airflow UI (its "Tenants" nav entry), as three users; screenshots go to
test-artifacts/dashboard/ and the two the README shows are copied to docs/img/.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import pytest

from conftest import REPO
from dashboard.metadata_seed import Run, Task, add_runs
from isolation.browser import chromium_fixture  # noqa: F401 - the `chromium` fixture
from isolation.stack import Stack, drop_database, fresh_database, login
from tenantflow.isolation.desired import demo_password

pytestmark = pytest.mark.e2e

TENANTS = ("finance", "healthcare", "retail")
VISIBLE = {
    "finance_engineer": {"finance"},
    "retail_analyst": {"retail"},
    "platform_admin": set(TENANTS),
    "support": set(TENANTS),
}
PLATFORM = {"platform_admin", "support"}
PREFIX = "/tenants-dashboard"


@dataclass
class World:
    base: str
    dags: dict[str, list[str]]  # tenant -> DAG ids


def _history(dag_id: str, now: dt.datetime, rng: random.Random) -> list[Run]:
    runs = []
    for day in range(30, 0, -1):
        at = now - dt.timedelta(days=day, hours=rng.randint(0, 3))
        state = "failed" if rng.random() < 0.12 else "success"
        rows, quarantined = rng.randint(800, 1500), rng.choice([0, 0, 0, rng.randint(1, 40)])
        table = f"{dag_id.split('__')[0]}.{dag_id.split('__')[1]}"
        tasks = [Task("quality", xcom={"rows": rows, "score": round(rng.uniform(0.9, 1.0), 3),
                                       "quarantined_rows": quarantined})]
        tasks.append(Task("load", state=state, end_offset=dt.timedelta(minutes=7),
                          xcom={"table": table, "rows": rows - quarantined, "skipped": False}))
        runs.append(Run(dag_id, f"scheduled__{at.isoformat()}", state, at, tasks))
    return runs


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("dashboard")
    db_url = fresh_database("dash")
    stack = Stack(root, db_url, AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"))
    try:
        stack.migrate_sync_parse()
        conn = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
        with conn.cursor() as cur:
            cur.execute("SELECT dag_id FROM dag ORDER BY dag_id")
            dag_ids = [d for (d,) in cur.fetchall()]
        dags = {t: [d for d in dag_ids if d.startswith(f"{t}__")] for t in TENANTS}
        assert all(dags.values()), dags
        rng, now = random.Random(14), dt.datetime.now(dt.UTC)
        tenant_dags = [d for d in dag_ids if "__" in d and not d.endswith("__maintenance")]  # not platform DAGs
        add_runs(conn, [run for d in tenant_dags for run in _history(d, now, rng)])
        # one task of finance holding a pool slot right now
        add_runs(conn, [Run(dags["finance"][0], "manual__now", "running", now, (Task("extract", state="running"),))])
        conn.close()
        yield World(stack.start_api_server(), dags)
    finally:
        stack.stop()
        drop_database(db_url)


def _endpoints() -> list[str]:
    return ["/", "/api/me", "/api/overview", *(f"/api/tenants/{t}" for t in TENANTS)]


def _expected(user: str, path: str) -> int:
    if path.startswith("/api/tenants/"):
        return 200 if path.rsplit("/", 1)[1] in VISIBLE[user] else 403
    if path == "/api/overview":
        return 200 if user in PLATFORM else 403
    return 200


def test_every_endpoint_refuses_the_unauthenticated(world: World):
    got = {p: httpx.get(world.base + PREFIX + p, timeout=30).status_code for p in _endpoints()}
    assert got == dict.fromkeys(_endpoints(), 401)
    forged = httpx.get(world.base + PREFIX + "/api/me", headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert forged.status_code in (401, 403)


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_every_endpoint_answers_only_what_the_users_roles_allow(world: World, user: str):
    client = login(world.base, user)
    got = {p: client.get(PREFIX + p).status_code for p in _endpoints()}
    assert got == {p: _expected(user, p) for p in _endpoints()}
    me = client.get(PREFIX + "/api/me").json()
    assert (set(me["tenants"]), me["platform"]) == (VISIBLE[user], user in PLATFORM)
    for tenant in TENANTS:
        response = client.get(f"{PREFIX}/api/tenants/{tenant}")
        if tenant not in VISIBLE[user]:
            assert f"may not see tenant '{tenant}'" in response.json()["detail"]
            continue
        data = response.json()
        assert {p["dag_id"] for p in data["pipelines"]} == set(world.dags[tenant])
        assert {f["dag_id"] for f in data["freshness"]} <= set(world.dags[tenant])
        assert sum(p["runs_30d"] for p in data["pipelines"]) >= 29 * (len(world.dags[tenant]) - 1)
        assert data["quota"]["slots"]
        cost = data["cost_this_month"]  # the chargeback's month to date, only this tenant's
        assert cost["currency"] == "EUR" and list(cost["by_tenant"]) == [tenant] and cost["amount"] >= 0
    if user in PLATFORM:
        overview = client.get(PREFIX + "/api/overview").json()
        assert [t["tenant"] for t in overview["tenants"]] == sorted(TENANTS)
        finance = next(t for t in overview["tenants"] if t["tenant"] == "finance")
        assert finance["pool_slots_used"] == 1 and finance["rows_30d"] > 0
        assert sorted(overview["cost_this_month"]["by_tenant"]) == sorted(TENANTS)


AUDIT_READS = {  # user -> tenants whose audit trail they may read (access_matrix.audit_reader_roles)
    "finance_admin": {"finance"},
    "auditor": set(TENANTS),
    "platform_admin": set(TENANTS),
    "finance_engineer": set(),
    "retail_analyst": set(),
    "support": set(),
}


@pytest.mark.parametrize("user", sorted(AUDIT_READS))
def test_the_audit_trail_is_read_only_by_the_auditor_platform_admin_and_the_tenants_admin(world: World, user: str):
    client = login(world.base, user)
    got = {t: client.get(f"{PREFIX}/api/tenants/{t}/audit").status_code for t in TENANTS}
    assert got == {t: 200 if t in AUDIT_READS[user] else 403 for t in TENANTS}
    for tenant in TENANTS:
        response = client.get(f"{PREFIX}/api/tenants/{tenant}/audit", params={"action": "sync.create_role"})
        if tenant not in AUDIT_READS[user]:
            assert f"may not read the audit trail of tenant '{tenant}'" in response.json()["detail"]
            assert "records" not in response.json()
            continue
        records = response.json()["records"]  # `tenantflow sync --demo-users` of the fixture made its roles
        assert {r["target"] for r in records} == {f"{tenant}_{p}" for p in ("admin", "engineer", "analyst", "steward")}
        assert {r["tenant"] for r in records} == {tenant} and all(r["actor"].startswith("cli:") for r in records)
    assert client.get(f"{PREFIX}/api/tenants/finance/audit").status_code == got["finance"]


def test_reading_the_audit_trail_needs_a_signed_in_user(world: World):
    assert httpx.get(f"{world.base}{PREFIX}/api/tenants/finance/audit", timeout=30).status_code == 401


def _dashboard_text(page, base: str, user: str) -> tuple[str, object]:
    page.goto(f"{base}/auth/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", demo_password(user))
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/plugin/tenants")  # the Airflow UI page of the "Tenants" nav entry (an iframe)
    frame = page.frame_locator("iframe").first
    frame.locator("#main h2").first.wait_for(timeout=60_000)
    frame.locator("#main svg").first.wait_for(timeout=30_000)
    return frame.locator("body").inner_text(), frame


@pytest.mark.parametrize("user,shot", [("finance_engineer", "dashboard-tenant-engineer.png"),
                                       ("retail_analyst", None), ("platform_admin", "dashboard-platform-admin.png")])
def test_the_dashboard_in_the_airflow_ui_shows_exactly_the_users_tenants(world: World, chromium: str, user: str,
                                                                         shot: str | None):
    from playwright.sync_api import sync_playwright

    artifacts = REPO / "test-artifacts" / "dashboard"
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / f"{user}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            text, frame = _dashboard_text(page, world.base, user)
            assert "Error" not in text and "403" not in text, text[:1500]
            if user in PLATFORM:
                for tenant in TENANTS:
                    frame.locator(f"#overview tr[data-tenant={tenant}]").wait_for(timeout=10_000)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    hidden = set(TENANTS) - VISIBLE[user]
    assert all(t in text for t in VISIBLE[user]), text[:1500]
    assert not [t for t in hidden if t in text], f"{user} sees other tenants: {text[:1500]}"
    if user in PLATFORM:
        assert "Platform overview" in text
    else:
        assert "Platform overview" not in text and "Pipeline health" in text and "Freshness per table" in text
    if shot:
        Path(REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, REPO / "docs" / "img" / shot)
