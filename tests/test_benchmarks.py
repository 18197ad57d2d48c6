"""The parse benchmark still runs on today's configs and DAGs: its generated tenants validate, and the factory's
DAGs and the hand-written baseline stay equivalent. (What it measures is `make bench`'s business, not a test's.)"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_the_parse_benchmark_generates_valid_configs_and_equivalent_static_dags():
    result = subprocess.run([sys.executable, "-m", "benchmarks.parse_bench", "--tenants", "12", "--repeat", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-4000:]
    report = json.loads(lines[-1])
    assert report["bench"] == "parse" and report["dags"] == 12 * 6  # 5 pipelines + maintenance each
    assert "identical fingerprints on both sides" in result.stderr


def test_the_queue_benchmark_drains_both_queues_and_prints_its_line(tmp_path):
    """A small run against the real RabbitMQ: ours and the raw consumer drain the same content, the table holds
    every message once (the benchmark checks it), and the line has the fields `make bench` promises."""
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO)])}
    result = subprocess.run([sys.executable, "-m", "benchmarks.queue_bench", "--messages", "3000",
                             "--max-records", "1000"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-4000:]
    report = json.loads(lines[-1])
    assert {k: report[k] for k in ("bench", "broker", "messages")} == {"bench": "queue", "broker": "rabbitmq",
                                                                       "messages": 3000}
    assert report["ours_msgs_per_s"] > 0 and report["raw_consume_msgs_per_s"] > 0 and report["ratio"] > 0
    assert 0 < report["p95_publish_to_queryable_s"] < 60
