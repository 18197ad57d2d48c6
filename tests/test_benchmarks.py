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


def test_the_cdc_benchmark_applies_the_changes_and_keeps_the_table_equal():
    result = subprocess.run([sys.executable, "-m", "benchmarks.cdc_bench", "--rows", "500", "--changes", "2000"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"bench"')]
    assert lines, result.stderr[-4000:]
    report = json.loads(lines[-1])
    assert report["bench"] == "cdc" and report["changes"] == report["workload_changes"] >= 2000
    assert report["table_equals_source"] is True and report["changes_per_s"] > 0 and report["ratio"] > 0
