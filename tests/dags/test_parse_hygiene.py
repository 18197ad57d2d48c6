"""Parsing stays light: no heavy imports, no DB; a worker's parse builds only the requested DAG."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["great_expectations", "pyiceberg", "boto3", "botocore", "databricks", "duckdb", "pandas", "pyarrow"]

_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dag_ids), "errors": bag.import_errors,
                  "heavy": [m for m in %r if m in sys.modules],
                  "seconds": time.perf_counter() - start}))
"""


def _parse(folder: Path, env_extra: dict[str, str] | None = None) -> dict:
    import os

    env = {**os.environ, **(env_extra or {}),
           # a DB that does not exist: parsing must not touch the metadata DB
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////nonexistent/dir/airflow.db"}
    out = subprocess.run([sys.executable, "-c", _PROBE % (HEAVY,), str(folder)], env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parse_imports_no_heavy_library():
    result = _parse(REPO / "dags")
    assert result["errors"] == {}
    assert result["heavy"] == [], f"imported at parse time: {result['heavy']}"
    assert len(result["dags"]) >= 6


def test_parsing_context_builds_only_the_requested_dag():
    env = {"_AIRFLOW_PARSING_CONTEXT_DAG_ID": "finance__orders",
           "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "extract"}
    own = _parse(REPO / "dags" / "tenants" / "finance.py", env)
    assert own["dags"] == ["finance__orders"]
    other = _parse(REPO / "dags" / "tenants" / "retail.py", env)
    assert other["dags"] == [] and other["errors"] == {}


def test_parsing_context_skips_other_pipeline_files(config_tree: Path):
    """A broken sibling pipeline does not stop a worker from running a healthy pipeline's task."""
    sibling = config_tree / "tenant_configs" / "finance" / "pipelines" / "customers.yaml"
    sibling.write_text("source: [this is not valid\n")
    env = {"TENANTFLOW_CONFIG_DIR": str(config_tree / "tenant_configs"),
           "_AIRFLOW_PARSING_CONTEXT_DAG_ID": "finance__orders",
           "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "extract"}
    result = _parse(config_tree / "dags" / "tenants" / "finance.py", env)
    assert result["dags"] == ["finance__orders"] and result["errors"] == {}
