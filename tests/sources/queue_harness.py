"""What the queue-source tests share: a retail pipeline on a queue source, its table, and consume runs in
processes of their own that are killed with SIGKILL (by the parent at a random moment, or by the child itself
right after a commit, before the acknowledgement) and re-run until the queue is drained."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import REPO

CHILD = Path(__file__).with_name("queue_consumer_child.py")


def pipeline_doc(source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "store_events", "source": {"kind": "queue", **source},
            "target": {"table": "store_events", "mode": "append"}, **extra}


def context(home: Path, doc: dict[str, Any]):
    from tenantflow.config.loader import load_tenant
    from tenantflow.config.models import PipelineConfig
    from tenantflow.pipeline_context import PipelineContext

    bundle = load_tenant(REPO / "tenant_configs", "retail")
    return PipelineContext(bundle.tenant, PipelineConfig.model_validate(doc), bundle.platform, str(home))


def table_rows(ctx, column: str = "event_id") -> list:
    from tenantflow.catalog.hook import IcebergHook

    table = IcebergHook(ctx).table()
    return sorted(table.scan().to_arrow()[column].to_pylist()) if table is not None else []


class Child:
    """One consume run in its own process; its output goes to files (never a pipe nobody reads)."""

    def __init__(self, folder: Path, doc: dict[str, Any], home: Path, run_id: str, kill_at_ack: int = 0):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.result, self.marker = folder, folder / "result.json", folder / "killed_after_commit"
        job = folder / "job.json"
        job.write_text(json.dumps({"repo": str(REPO), "home": str(home), "pipeline": doc, "run_id": run_id,
                                   "result": str(self.result), "marker": str(self.marker),
                                   "kill_at_ack": kill_at_ack}))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "tests")])}
        self.out, self.err = (folder / "stdout").open("w"), (folder / "stderr").open("w")
        self.process = subprocess.Popen([sys.executable, str(CHILD), str(job)], stdout=self.out, stderr=self.err,
                                        env=env, cwd=REPO)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "ready" not in (self.folder / "stdout").read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"consumer did not start:\n{(self.folder / 'stderr').read_text()[-4000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.out.close()
            self.err.close()

    def outcome(self) -> dict[str, Any] | None:
        return json.loads(self.result.read_text()) if self.result.exists() else None

    def stderr(self) -> str:
        return (self.folder / "stderr").read_text()[-4000:]


def drain_with_kills(tmp: Path, doc: dict[str, Any], home: Path, *, seed: int, kills: int,
                     max_kill_delay: float) -> dict[str, Any]:
    """Run consumers until one drains the queue: the first ``kills`` runs are killed (kill -9) at random moments,
    every other one of them by itself right after a commit; returns counts of what happened."""
    rng = random.Random(seed)
    seen = {"parent_kills": 0, "killed_after_commit": 0, "duplicates_dropped": 0, "runs": 0}
    for attempt in range(kills + 6):
        killing = attempt < kills
        child = Child(tmp / f"run-{attempt}", doc, home, f"run-{attempt}",
                      kill_at_ack=rng.randint(1, 3) if killing and attempt % 2 == 0 else 0)
        child.wait_ready()
        seen["runs"] += 1
        if killing and attempt % 2 == 1:
            time.sleep(rng.uniform(0.2, max_kill_delay))
            if child.process.poll() is None:
                child.kill()
                seen["parent_kills"] += 1
        code = child.wait()
        if child.marker.exists():
            seen["killed_after_commit"] += 1
        outcome = child.outcome()
        if code == 0 and outcome is not None:
            seen["duplicates_dropped"] += outcome["duplicates"]
            if not killing and outcome["messages"] == 0:
                return seen  # a run found nothing left: drained
        elif code not in (0, -signal.SIGKILL):
            raise AssertionError(f"consumer exited {code}:\n{child.stderr()}")
    raise AssertionError(f"not drained after {seen['runs']} runs: {seen}")
