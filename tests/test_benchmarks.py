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


def test_the_queue_benchmark_drains_both_queues_and_prints_its_line():
    """A small run against the real RabbitMQ: ours and the raw consumer drain the same content, the table holds
    every message once (the benchmark checks it), and the line has the fields `make bench` promises."""
    report, _ = run_bench("queue_bench", "--messages", "3000", "--max-records", "1000")
    assert {k: report[k] for k in ("bench", "broker", "messages")} == {"bench": "queue", "broker": "rabbitmq",
                                                                       "messages": 3000}
    assert report["ours_msgs_per_s"] > 0 and report["raw_consume_msgs_per_s"] > 0 and report["ratio"] > 0
    assert 0 < report["p95_publish_to_queryable_s"] < 60


def test_the_sql_ingest_benchmarks_load_equal_tables_and_print_their_lines():
    """MySQL and SQLite against ConnectorX's raw read (the benchmark fails when the tables differ), and the
    partitioned PostgreSQL read against the single stream."""
    for source in ("mysql", "sqlite"):
        report, _ = run_bench("sql_ingest_bench", "--source", source, "--rows", "20000", "--no-rss")
        assert (report["bench"], report["source"], report["rows"]) == ("ingest", source, 20000)
        assert report["ours_s"] > 0 and report["connectorx_raw_s"] > 0 and report["ratio_vs_raw"] > 0
    report, _ = run_bench("sql_ingest_bench", "--source", "postgres", "--rows", "30000", "--partitions", "2")
    assert (report["source"], report["partitions"]) == ("postgres", 2)
    assert report["single_stream_s"] > 0 and report["partitioned_s"] > 0 and report["rss_partitioned_mb"] > 0


def test_the_spark_transform_benchmark_matches_the_local_engines_rows():
    report, _ = run_bench("transform_bench", "--engine", "spark", "--rows", "20000", "--parts", "2")
    assert (report["bench"], report["engine"], report["rows"]) == ("transform", "spark", 20000)
    assert report["out_rows"] > 0 and report["spark_s"] > 0 and report["duckdb_s"] > 0
