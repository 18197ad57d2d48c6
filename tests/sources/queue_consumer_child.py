"""A consume task in a process of its own, for the kill -9 tests of queue sources (tests/sources/test_queue_*.py).

    python queue_consumer_child.py <job.json>

job: {"repo", "home", "pipeline" (a pipeline document of tenant retail), "run_id", "result",
      "kill_at_ack": N (SIGKILL itself right after the N-th micro-batch's commit, before its acknowledgement; 0: never),
      "marker": a file written just before that kill}
Prints "ready" once imports are done, so the parent's kill delays measure the consuming itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pyarrow  # noqa: F401 - imported before 'ready'
import pyiceberg.catalog.sql  # noqa: F401

from tenantflow.config.loader import load_tenant
from tenantflow.config.models import PipelineConfig
from tenantflow.pipeline_context import PipelineContext
from tenantflow.streams.consume import consume
from tenantflow.streams.registry import stream_reader


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    bundle = load_tenant(Path(job["repo"]) / "tenant_configs", "retail")
    pipeline = PipelineConfig.model_validate(job["pipeline"])
    ctx = PipelineContext(bundle.tenant, pipeline, bundle.platform, job["home"])
    reader = stream_reader(ctx)
    acknowledge, acks = reader.acknowledge, [0]

    def acknowledge_or_die(batch):
        acks[0] += 1
        if acks[0] == job.get("kill_at_ack", 0):
            Path(job["marker"]).write_text(str(batch.messages))
            os.kill(os.getpid(), signal.SIGKILL)  # committed, not acknowledged
        acknowledge(batch)

    reader.acknowledge = acknowledge_or_die
    print("ready", flush=True)
    result = consume(ctx, job["run_id"], reader, pipeline.source.batch, pipeline.source.per_run)
    Path(job["result"]).write_text(json.dumps(result.as_dict()))


if __name__ == "__main__":
    main()
