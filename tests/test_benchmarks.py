"""The parse benchmark still runs on today's configs and DAGs: its generated tenants validate, and the factory's
DAGs and the hand-written baseline stay equivalent. (What it measures is `make bench`'s business, not a test's.)"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def run_bench(module: str, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    """The benchmark's last JSON line (its report) and the finished process."""
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"bench"')]
    assert lines, result.stderr[-4000:]
    return json.loads(lines[-1]), result


def test_the_parse_benchmark_generates_valid_configs_and_equivalent_static_dags():
    report, result = run_bench("parse_bench", "--tenants", "12", "--repeat", "1")
    assert report["bench"] == "parse" and report["dags"] == 12 * 6  # 5 pipelines + maintenance each
    assert "identical fingerprints on both sides" in result.stderr


def test_the_cdc_benchmark_applies_the_changes_and_keeps_the_table_equal():
    report, _ = run_bench("cdc_bench", "--rows", "500", "--changes", "2000")
    assert report["bench"] == "cdc" and report["changes"] == report["workload_changes"] >= 2000
    assert report["table_equals_source"] is True and report["changes_per_s"] > 0 and report["ratio"] > 0
