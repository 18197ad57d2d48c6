"""A local stand-in for one Databricks workspace: the Jobs API 2.2 subset tenantflow uses.

Used by the tests (one per tenant workspace) and by ``make demo``, where the healthcare tenant's
``healthcare__databricks`` connection points at it so its Databricks pipeline runs on a laptop: the
stand-in executes the submitted job entry point with this package instead of on a cluster.

Endpoints: ``runs/submit`` (honours ``idempotency_token``), ``runs/get``, ``runs/get-output``,
``runs/cancel``, and ``jobs/list`` (no jobs: what ``tenantflow doctor`` asks to prove the token works).
Every request is recorded (path, headers, JSON). Each new run follows a scenario, one state every
``step_seconds``:

- ``success``: PENDING -> RUNNING -> TERMINATED/SUCCESS
- ``failure``: PENDING -> RUNNING -> TERMINATED/FAILED, runs/get-output carries ``error``
- ``internal_error``: PENDING -> INTERNAL_ERROR/FAILED
- ``hang``: PENDING -> RUNNING until cancelled (then TERMINATED/CANCELED)
- ``execute``: PENDING -> RUNNING while the submitted python_wheel_task's entry point runs in a
  thread (this package, as a workspace would run the wheel); SUCCESS, or FAILED with the error
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/api/2.2/jobs/runs/"
LIST_JOBS = "/api/2.2/jobs/list"
FILES = "/api/2.0/fs/files"  # the Files API: PUT the bytes of a workspace file or a Unity Catalog volume file


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Run:
    run_id: int
    task_run_id: int
    payload: dict[str, Any]
    scenario: str
    created: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    outcome: tuple[str, str | None] | None = None  # execute: ("SUCCESS"|"FAILED", error)
    thread: threading.Thread | None = None
    started_at: float = field(default_factory=time.time)  # wall clock, as the Jobs API's start_time
    ended_at: float | None = None  # first time a terminal state was reported


class LocalJobsApi:
    def __init__(self, *, step_seconds: float = 0.3, default_scenario: str = "success") -> None:
        self.step_seconds = step_seconds
        self.default_scenario = default_scenario
        self.scenarios: list[str] = []  # consumed by the next submits, then default_scenario
        self.requests: list[Request] = []
        self.runs: dict[int, Run] = {}
        self.files: dict[str, bytes] = {}  # Files API: path -> bytes
        self.refuse_uploads = False  # the token's principal may not write the path (403)
        self.tokens: dict[str, int] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalJobsApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        for run in self.runs.values():
            if run.thread is not None:
                run.thread.join(timeout=60)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def connection_uri_json(self, token: str) -> str:
        return json.dumps({"conn_type": "databricks", "host": "127.0.0.1", "port": self.port, "schema": "http",
                           "password": token})

    # ------------------------------------------------------------------ inspection
    def submits(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("runs/submit")]

    def created_runs(self) -> list[Run]:
        return sorted(self.runs.values(), key=lambda r: r.run_id)

    # ------------------------------------------------------------------ API
    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            token = body.get("idempotency_token")
            if token and token in self.tokens:
                return {"run_id": self.tokens[token]}
            run_id = next(self._ids)
            scenario = self.scenarios.pop(0) if self.scenarios else self.default_scenario
            self.runs[run_id] = Run(run_id, run_id * 10, body, scenario)
            if token:
                self.tokens[token] = run_id
            return {"run_id": run_id}

    def state(self, run: Run) -> dict[str, Any]:
        step = int((time.monotonic() - run.created) / self.step_seconds)
        if run.cancelled:
            return {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                    "state_message": "Run cancelled."}
        if step == 0:
            return {"life_cycle_state": "PENDING", "state_message": "Waiting for cluster"}
        if run.scenario == "internal_error":
            return {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED",
                    "state_message": "Cluster failed to start: spot capacity lost"}
        if run.scenario == "execute":
            return self._executed_state(run)
        if step == 1 or run.scenario == "hang":
            return {"life_cycle_state": "RUNNING", "state_message": "In run"}
        if run.scenario == "failure":
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": "Task transform_load failed with message: Workload failed."}
        return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}

    def _executed_state(self, run: Run) -> dict[str, Any]:
        with self._lock:
            if run.thread is None:
                run.thread = threading.Thread(target=self._execute, args=(run,), daemon=True)
                run.thread.start()
        if run.outcome is None:
            return {"life_cycle_state": "RUNNING", "state_message": "In run"}
        result, error = run.outcome
        message = "" if result == "SUCCESS" else "Task transform_load failed with message: Workload failed."
        return {"life_cycle_state": "TERMINATED", "result_state": result, "state_message": message}

    def _execute(self, run: Run) -> None:
        """Run the submitted python_wheel_task with this package, as the workspace runs the wheel."""
        from tenantflow.processing import databricks_job

        task = run.payload["tasks"][0]["python_wheel_task"]
        try:
            if (task["package_name"], task["entry_point"]) != ("tenantflow", "tenantflow-databricks-job"):
                raise ValueError(f"the stand-in only runs tenantflow's job, not {task}")
            databricks_job.main(task["parameters"])
            run.outcome = ("SUCCESS", None)
        except BaseException as exc:  # noqa: BLE001 - the run fails with the job's error, like a workspace
            run.outcome = ("FAILED", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")

    def get(self, run_id: int) -> dict[str, Any] | None:
        run = self.runs.get(run_id)
        if run is None:
            return None
        state = self.state(run)
        if run.ended_at is None and state["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
            run.ended_at = time.time()
        return {
            "job_id": 77, "run_id": run.run_id, "run_name": run.payload.get("run_name"),
            "run_page_url": f"http://127.0.0.1:{self.port}/#job/77/run/{run.run_id}",
            "state": state,
            "start_time": int(run.started_at * 1000),
            "end_time": int(run.ended_at * 1000) if run.ended_at else 0,
            "cluster_instance": {"cluster_id": f"0000-000000-run{run.run_id}"},
            "tasks": [{"run_id": run.task_run_id, "task_key": run.payload["tasks"][0]["task_key"],
                       "state": state, "attempt_number": 0, "start_time": int(run.created * 1000)}],
        }

    def output(self, task_run_id: int) -> dict[str, Any] | None:
        run = next((r for r in self.runs.values() if r.task_run_id == task_run_id), None)
        if run is None:
            return None
        out: dict[str, Any] = {"metadata": {"run_id": task_run_id}}
        result = self.state(run).get("result_state")
        if result == "FAILED":
            if run.scenario == "execute" and run.outcome:
                out["error"] = run.outcome[1]
            else:
                out["error"] = "ValueError: column 'amount' cannot be cast to DECIMAL(12,2)"
        return out

    def cancel(self, run_id: int) -> bool:
        run = self.runs.get(run_id)
        if run is None:
            return False
        run.cancelled = True
        return True

    # ------------------------------------------------------------------ HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _files(self, method: str, url: Any) -> None:
                """The Files API (PUT/HEAD /api/2.0/fs/files/<path>): a workspace file or volume's bytes."""
                path = unquote(url.path.removeprefix(FILES))
                api.requests.append(Request(method, url.path, dict(self.headers), {"path": path}))
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    return self._reply(401, {"error_code": "UNAUTHENTICATED", "message": "no token"})
                if method == "PUT" and api.refuse_uploads:
                    return self._reply(403, {"error_code": "PERMISSION_DENIED", "message": f"no WRITE on {path}"})
                if method == "PUT":
                    data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    if path in api.files and parse_qs(url.query).get("overwrite") != ["true"]:
                        return self._reply(409, {"error_code": "ALREADY_EXISTS", "message": path})
                    api.files[path] = data
                    self.send_response(204)
                    self.end_headers()
                    return None
                if path not in api.files:
                    self.send_response(404)
                    self.end_headers()
                    return None
                self.send_response(200)
                self.send_header("Content-Length", str(len(api.files[path])))
                self.end_headers()
                return None

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                if url.path.startswith(FILES):
                    return self._files(method, url)
                # the sync hook sends GET arguments as a query string, the async hook as a JSON body
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                body.update({k: v[0] for k, v in parse_qs(url.query).items()})
                api.requests.append(Request(method, url.path, dict(self.headers), body))
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    return self._reply(401, {"error_code": "UNAUTHENTICATED", "message": "no token"})
                if method == "GET" and url.path == LIST_JOBS:
                    return self._reply(200, {"jobs": []})
                action = url.path.removeprefix(PREFIX)
                if method == "POST" and action == "submit":
                    return self._reply(200, api.submit(body))
                if method == "GET" and action == "get":
                    found = api.get(int(body["run_id"]))
                elif method == "GET" and action == "get-output":
                    found = api.output(int(body["run_id"]))
                elif method == "POST" and action == "cancel":
                    found = {} if api.cancel(int(body["run_id"])) else None
                else:
                    return self._reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": self.path})
                if found is None:
                    return self._reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such run"})
                return self._reply(200, found)

            def do_GET(self) -> None:  # noqa: N802 - http.server's API
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_HEAD(self) -> None:  # noqa: N802
                self._handle("HEAD")

        return Handler
