"""``make demo``: run the platform locally on embedded defaults, with FAB RBAC.

SQLite metadata DB, LocalExecutor, local landing and warehouse under ``.tenantflow/``,
demo tenants' source data and one demo user per tenant role. ``airflow standalone``
forces the SimpleAuthManager, so the components are started one by one here.
Ctrl-C stops everything this started. ``--check`` runs a smoke check and exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from demo import store_events
from demo.jobs_api import LocalJobsApi
from demo.smoke import smoke_check, wait_healthy
from tenantflow.isolation.access_matrix import TENANT_ROLES
from tenantflow.isolation.desired import demo_password
from tenantflow.isolation.system_roles import SYSTEM_ROLES

log = logging.getLogger("tenantflow.demo")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# the reconcile loop: applies the config tree (pools, roles, per-DAG permissions, demo users, namespaces,
# retirements) whenever a file under tenant_configs/ or dags/tenants/ changes -- no manual `tenantflow sync`
RECONCILE = ("tenantflow", "reconcile", "--watch", "--interval", "2", "--demo-users")


def _secret(path: Path) -> str:
    """A secret kept across demo restarts (sessions and task tokens survive a restart)."""
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def demo_env(repo: Path, state: Path, port: int, databricks_conn: str | None = None) -> dict[str, str]:
    airflow_home = state / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    sources = state / "sources"
    return {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(repo / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__API__SECRET_KEY": _secret(state / ".api_secret"),
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret(state / ".jwt_secret"),
        "AIRFLOW__FAB__SESSION_LIFETIME_MINUTES": "480",
        # how long the api-server trusts a signed-in user's roles: a retired tenant's users lose access within
        # one reconcile round plus this
        "AIRFLOW__FAB__CACHE_TTL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "TENANTFLOW_HOME": str(state),
        "TENANTFLOW_CONFIG_DIR": str(repo / "tenant_configs"),
        "TENANTFLOW_DAGS_DIR": str(repo / "dags" / "tenants"),
        "AIRFLOW_CONN_FINANCE__ERP": f'{{"conn_type": "sqlite", "host": "{sources / "finance" / "erp.db"}"}}',
        "AIRFLOW_CONN_HEALTHCARE__CLINIC": (
            f'{{"conn_type": "sqlite", "host": "{sources / "healthcare" / "clinic.db"}"}}'
        ),
        **({"AIRFLOW_CONN_HEALTHCARE__DATABRICKS": databricks_conn} if databricks_conn else {}),
        # retail's store events queue on this machine's RabbitMQ (demo/store_events.py)
        "AIRFLOW_CONN_RETAIL__EVENTS_RABBITMQ": store_events.connection_json(),
        # the finance tenant's PII hashing key (HMAC), generated once per demo state
        "AIRFLOW_CONN_FINANCE__PII": f'{{"conn_type": "generic", "password": "{_secret(state / ".finance_pii")}"}}',
        "GX_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }


def _run(bin_dir: Path, env: dict[str, str], *args: str) -> None:
    log.info("$ %s", " ".join(args))
    subprocess.run([str(bin_dir / args[0]), *args[1:]], env=env, check=True)


def prepare(repo: Path, state: Path, env: dict[str, str], bin_dir: Path, scale: float) -> None:
    from demo.data import generate_demo_data

    if not (state / "sources" / "finance" / "erp.db").exists():
        counts = generate_demo_data(state, scale=scale)
        log.info("demo source data: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
        log.info("demo store events published to %s: %d", store_events.QUEUE, store_events.publish_events(500, seed=7))
    _run(bin_dir, env, "tenantflow", "validate")
    _run(bin_dir, env, "airflow", "db", "migrate")
    _run(bin_dir, env, "tenantflow", "sync", "--demo-users")


def start(env: dict[str, str], bin_dir: Path, logs: Path) -> dict[str, subprocess.Popen]:
    logs.mkdir(parents=True, exist_ok=True)
    procs = {}
    commands = {**{c: ("airflow", c) for c in COMPONENTS}, "reconcile": RECONCILE}
    for component, (program, *args) in commands.items():
        handle = (logs / f"{component}.log").open("ab")
        procs[component] = subprocess.Popen(
            [str(bin_dir / program), *args], env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.info("started %s (pid %d), log: %s", component, procs[component].pid, logs / f"{component}.log")
    return procs


def stop(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in procs.items():
        if proc.poll() is None:
            log.info("stopping %s", name)
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def logins_table(port: int, tenants: list[str]) -> str:
    lines = [f"tenantflow demo is up: http://localhost:{port}", "", "Logins (user / password):"]
    for system in SYSTEM_ROLES:
        lines.append(f"  {system.demo_user:<22} {demo_password(system.demo_user):<28} {system.title}")
    for tenant in tenants:
        for role in TENANT_ROLES:
            user = f"{tenant}_{role.key}"
            lines.append(f"  {user:<22} {demo_password(user):<28} {role.title} of {tenant}")
    lines += ["", *cli_login_lines(port), "", "Ctrl-C stops everything."]
    return "\n".join(lines)


def cli_login_lines(port: int, user: str = "finance_engineer") -> list[str]:
    """A tenant user's remote CLI, ready to paste: a token from /auth/token, airflowctl's login, a trigger."""
    url = f"http://localhost:{port}"
    body = json.dumps({"username": user, "password": demo_password(user)})
    return [
        f"Remote CLI as {user} (README: For tenant users):",
        f"  export AIRFLOW_CLI_TOKEN=$(curl -s -X POST {url}/auth/token -H 'Content-Type: application/json' "
        f"-d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  airflowctl auth login --api-url {url} --api-token "$AIRFLOW_CLI_TOKEN" --skip-keyring',
        "  airflowctl dags trigger finance__fx_rates",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("TENANTFLOW_DEMO_PORT", "8080")))
    parser.add_argument("--state", default=".tenantflow", help="local state folder (default: .tenantflow)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo data scale (1.0 = 120k orders)")
    parser.add_argument("--check", action="store_true",
                        help="start, run the smoke check (finance engineer sees only finance, a run loads), stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    repo = Path.cwd()
    state = Path(args.state).resolve()
    bin_dir = Path(sys.executable).parent
    # healthcare's lab_results pipeline has `engine: databricks`: in the demo its workspace connection points
    # at a local Jobs API stand-in that runs the shipped job entry point on this machine (no cluster)
    workspace = LocalJobsApi(step_seconds=1.0, default_scenario="execute").__enter__()
    log.info("healthcare__databricks -> local Jobs API stand-in on port %d (runs the job locally)", workspace.port)
    env = demo_env(repo, state, args.port, workspace.connection_uri_json("demo-local-token"))
    prepare(repo, state, env, bin_dir, args.scale)
    procs = start(env, bin_dir, state / "logs")
    stopping = False

    def _terminate(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _terminate)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        wait_healthy(args.port, procs, timeout=240)
        from tenantflow.config.loader import tenant_ids

        print(logins_table(args.port, tenant_ids(repo / "tenant_configs")), flush=True)  # noqa: T201
        if args.check:
            smoke_check(args.port, state)
            return 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    log.error("%s exited with %s; see %s", name, proc.returncode, state / "logs" / f"{name}.log")
                    return 1
            time.sleep(1)
        return 0
    finally:
        stop(procs)
        workspace.__exit__(None, None, None)


if __name__ == "__main__":
    raise SystemExit(main())
