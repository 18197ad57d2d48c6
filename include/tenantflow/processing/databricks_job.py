"""The job a Databricks run executes: transform and load one pipeline run, like the local engine does.

Shipped in the tenantflow wheel as the console script ``tenantflow-databricks-job`` (the
``python_wheel_task`` entry point). Parameters: ``--config`` (the serialized tenant, pipeline and
catalog settings), ``--run-id`` (the Airflow run id) and ``--home`` (base of relative paths).

It reads this run's landed batch (the quality-approved rows when the quality stage published
them), applies the pipeline's Spark SQL transform and writes the table with the target's write
mode through ``loading/`` -- the same code the local engine runs, so both honour one contract
(exactly once per run id, watermark and loaded files committed with the data). The transform runs on
the cluster's Spark (``processing/spark_engine.py``): Spark reads the batch, runs the SQL as written and
writes the transformed parts with its distributed writer; the Iceberg commit is the driver's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("tenantflow.databricks_job")


def run(config: str, run_id: str, home: str) -> dict[str, Any]:
    from tenantflow.catalog.hook import IcebergHook
    from tenantflow.loading.run_load import load_run
    from tenantflow.pipeline_context import PipelineContext
    from tenantflow.processing.databricks_spec import parse_config
    from tenantflow.processing.spark_engine import run_spark_transform

    tenant, pipeline, platform = parse_config(config)
    ctx = PipelineContext(tenant=tenant, pipeline=pipeline, platform=platform, home=home)
    hook = IcebergHook(ctx)  # refuses a namespace the tenant does not own
    result: dict[str, Any] = {"tenant": tenant.id, "pipeline": pipeline.id, "run_id": run_id}
    if pipeline.transform is not None:
        manifest = run_spark_transform(ctx, run_id, hook.catalog)
        result["transformed_rows"] = manifest.rows
    result["load"] = load_run(ctx, run_id, hook)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tenantflow-databricks-job", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="serialized tenant, pipeline and catalog settings (JSON)")
    parser.add_argument("--run-id", required=True, help="the Airflow run id")
    parser.add_argument("--home", required=True, help="base of relative landing/catalog paths")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = run(args.config, args.run_id, args.home)
    # the last stdout line is the run's result (visible in runs/get-output logs)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
