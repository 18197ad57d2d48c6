"""helm-values/values.yaml's statsd-exporter rules turn the lines Airflow sends into Prometheus series
with tenant/pipeline/stage labels (statsd_exporter's matching, emulated: globs tried before regexes,
each kind in file order; tags become labels)."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO
from metrics.statsd_receiver import parse
from tenantflow.metrics.names import CATALOGUE

RULES = yaml.safe_load((REPO / "helm-values" / "values.yaml").read_text())["statsd"]["overrideMappings"]


def _pattern(rule: dict) -> re.Pattern:
    if rule.get("match_type") == "regex":
        return re.compile(rule["match"])
    return re.compile("^" + "".join("([^.]*)" if c == "*" else re.escape(c) for c in rule["match"]) + "$")


def prometheus(line: str, *, globs_first: bool = True) -> tuple[str, dict[str, str]]:
    point = parse(line)
    order = sorted(RULES, key=lambda r: r.get("match_type") == "regex") if globs_first else RULES
    for rule in order:
        if m := _pattern(rule).search(point.name):
            labels = {k: m.expand(v.replace("$", "\\")) for k, v in rule.get("labels", {}).items()}
            return rule["name"], {**point.tags, **labels}
    return re.sub(r"[^a-zA-Z0-9_]", "_", point.name), point.tags  # the exporter's fallback


# lines as a real run sends them (tests/metrics/test_metrics_run.py receives the same), plus the
# scheduler's pool gauges
CASES = [
    ("airflow.tenantflow.rows,tenant=retail,pipeline=sales,stage=land:2040|c",
     "tenantflow_rows_total", {"tenant": "retail", "pipeline": "sales", "stage": "land"}),
    ("airflow.tenantflow.table.freshness_lag_seconds,tenant=retail,pipeline=sales,table=retail.sales:42.0|g",
     "tenantflow_table_freshness_lag_seconds", {"tenant": "retail", "pipeline": "sales", "table": "retail.sales"}),
    ("airflow.ti.finish.retail__sales.quality.failed:1|c",
     "tenantflow_task_finish_total", {"tenant": "retail", "pipeline": "sales", "stage": "quality", "state": "failed"}),
    ("airflow.ti.finish.big_shop__daily_orders.load.up_for_retry:1|c",
     "tenantflow_task_finish_total",
     {"tenant": "big_shop", "pipeline": "daily_orders", "stage": "load", "state": "up_for_retry"}),
    ("airflow.dag.finance__orders.extract.duration:812.5|ms",
     "tenantflow_stage_duration_seconds", {"tenant": "finance", "pipeline": "orders", "stage": "extract"}),
    ("airflow.dagrun.duration.failed.finance__orders:9000|ms",
     "tenantflow_dagrun_duration_seconds", {"state": "failed", "tenant": "finance", "pipeline": "orders"}),
    ("airflow.pool.running_slots.tenant_finance:3|g", "tenantflow_pool_slots",
     {"state": "running", "tenant": "finance"}),
    ("airflow.pool.open_slots.tenant_big_shop:5|g", "tenantflow_pool_slots", {"state": "open", "tenant": "big_shop"}),
    ("airflow.pool.starving_tasks.tenant_finance:0|g", "tenantflow_pool_starving_tasks", {"tenant": "finance"}),
    # not a tenant's: the chart's default series, unchanged
    ("airflow.dag.platform_backup.dump.duration:10|ms", "airflow_task_duration",
     {"dag_id": "platform_backup", "task_id": "dump"}),
    ("airflow.pool.open_slots.default_pool:128|g", "airflow_pool_open_slots", {"pool": "default_pool"}),
    ("airflow.ti.queued.default.finance__orders.load:1|g", "airflow_ti_queued",
     {"queue": "default", "dag_id": "finance__orders", "task_id": "load"}),
]


@pytest.mark.parametrize(("line", "name", "labels"), CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_lines_become_labelled_prometheus_series(line, name, labels):
    assert prometheus(line) == (name, labels)
    # the rules must not depend on statsd_exporter's glob-before-regex precedence
    assert prometheus(line, globs_first=False) == (name, labels)


def test_every_tenantflow_metric_has_a_rule():
    ours = {r["match"]: r["name"] for r in RULES if r["match"].startswith("airflow.tenantflow.")}
    assert sorted(ours) == sorted(f"airflow.{m.name}" for m in CATALOGUE)
    counters = {f"airflow.{m.name}" for m in CATALOGUE if m.kind == "counter"}
    assert all(name.endswith("_total") == (match in counters) for match, name in ours.items())


def test_the_chart_defaults_are_kept():
    names = [r["name"] for r in RULES]
    for default in ("airflow_dagrun_dependency_check", "airflow_operator_successes", "airflow_scheduler_heartbeat",
                    "airflow_dag_processing_last_runtime", "airflow_executor_open_slots", "airflow_ti_deferred"):
        assert default in names, default
