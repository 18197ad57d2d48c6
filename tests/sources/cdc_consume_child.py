"""A consumer process of the finance ``payments`` CDC pipeline, for tests and the benchmark that kill it.

``python cdc_consume_child.py <repo> <home> <slot> <run id> <max records per micro-batch> <result file>``; the source
connection comes from the environment (``AIRFLOW_CONN_FINANCE__PAYMENTS_PG``). Writes the consume result as
JSON to the result file on exit (stdout carries Airflow's logging).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from logical_postgres import payments_context  # noqa: E402

from tenantflow.config.streams import MicroBatchLimits, RunLimits  # noqa: E402
from tenantflow.sources.cdc_postgres import PostgresCDCReader  # noqa: E402
from tenantflow.streams.consume import consume  # noqa: E402


def main(repo: str, home: str, slot: str, run_id: str, max_records: str, result_file: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    ctx = payments_context(Path(repo), Path(home), slot)
    reader = PostgresCDCReader(tenant_id=ctx.tenant_id, source=ctx.pipeline.source, pipeline_ctx=ctx)
    result = consume(ctx, run_id, reader, MicroBatchLimits(max_records=int(max_records), max_seconds=1),
                     RunLimits(idle_seconds=1.0, max_seconds=300))
    Path(result_file).write_text(json.dumps({**result.as_dict(), "dropped_redelivered": reader.duplicates}))


if __name__ == "__main__":
    main(*sys.argv[1:7])
