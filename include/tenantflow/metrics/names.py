"""The metrics tenantflow emits: names, kinds and labels in one place.

Names are dotted (Airflow's own style); the StatsD client adds ``[metrics] statsd_prefix`` (``airflow``)
and the statsd-exporter mapping of helm-values/values.yaml turns ``airflow.tenantflow.rows`` into the
Prometheus counter ``tenantflow_rows_total``. Labels travel as tags (InfluxDB-style with StatsD,
attributes with OpenTelemetry), never inside the name: a name is the same for every tenant.

Only what Airflow does not emit itself is here: stage durations are Airflow's ``task.duration``
(task ids are stage names), failures and retries its ``ti.finish`` / ``ti_failures``, pool occupancy
its ``pool.*_slots`` -- the exporter mapping gives those the same tenant/pipeline/stage labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge"]

STAGES = ("extract", "land", "quality", "load")
"""Stages with volume metrics (task ids of the pipeline DAG; `transform` and `register` have none)."""

LABELS = ("tenant", "pipeline", "stage", "table")


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    labels: tuple[str, ...]
    description: str


def _metric(name: str, kind: Kind, labels: tuple[str, ...], description: str) -> Metric:
    return Metric(f"tenantflow.{name}", kind, labels, description)


_STAGE = ("tenant", "pipeline", "stage")
_PIPELINE = ("tenant", "pipeline")
_TABLE = ("tenant", "pipeline", "table")

ROWS = _metric("rows", "counter", _STAGE, "rows a stage produced: extracted, landed, checked, loaded")
BYTES = _metric("bytes", "counter", _STAGE,
                "Parquet bytes: staged (extract), landed (land), of the batch loaded (load)")
REJECTED_ROWS = _metric("rejected_rows", "counter", _PIPELINE, "malformed source rows set aside by extract")
QUALITY_SCORE = _metric("quality.score", "gauge", _PIPELINE, "the batch's quality score, 0-100")
QUALITY_FLAGGED_ROWS = _metric("quality.flagged_rows", "counter", _PIPELINE,
                               "unexpected values of failed rules (a row failing two rules counts twice)")
QUARANTINED_ROWS = _metric("quarantine.rows", "counter", _PIPELINE, "rows moved to the quarantine table")
LAST_LOAD = _metric("table.last_load_timestamp", "gauge", _TABLE,
                    "Unix time (s) of the table's last load (load task; maintenance DAG from the snapshots)")
FRESHNESS_LAG = _metric("table.freshness_lag_seconds", "gauge", _TABLE,
                        "seconds since the table's last load, when the maintenance DAG ran")
STREAM_MESSAGES = _metric("stream.messages", "counter", _PIPELINE,
                          "messages (or CDC changes) a stream pipeline's run consumed, poison and duplicates included")
STREAM_RATE = _metric("stream.messages_per_second", "gauge", _PIPELINE,
                      "consumer rate of the run: messages consumed / seconds draining")
STREAM_LAG_MESSAGES = _metric("stream.lag_messages", "gauge", _PIPELINE,
                              "messages (or changes) waiting in the queue/stream/slot when the run ended")
STREAM_LAG_SECONDS = _metric("stream.lag_seconds", "gauge", _PIPELINE,
                             "how far behind the newest message the consumer was when the run ended")

_ALERT = ("tenant", "event", "kind")
ALERTS_SENT = _metric("alerts.sent", "counter", _ALERT, "alerts delivered, by event and target kind")
ALERTS_DELIVERY_FAILED = _metric("alerts.delivery_failed", "counter", _ALERT,
                                 "alerts a target did not take (logged; the task goes on)")

PIPELINE_METRICS: tuple[Metric, ...] = (ROWS, BYTES, REJECTED_ROWS, QUALITY_SCORE, QUALITY_FLAGGED_ROWS,
                                        QUARANTINED_ROWS, LAST_LOAD, FRESHNESS_LAG)
"""What every pipeline run (and its maintenance DAG) emits."""
STREAM_METRICS: tuple[Metric, ...] = (STREAM_MESSAGES, STREAM_RATE, STREAM_LAG_MESSAGES, STREAM_LAG_SECONDS)
"""What a stream pipeline's consume task emits (queue and CDC sources), besides the load's metrics."""
ALERT_METRICS: tuple[Metric, ...] = (ALERTS_SENT, ALERTS_DELIVERY_FAILED)
"""What alert delivery emits (notifications/delivery.py), when a run sends alerts."""
CATALOGUE: tuple[Metric, ...] = PIPELINE_METRICS + STREAM_METRICS + ALERT_METRICS


class LabelError(ValueError):
    """A label value a metrics backend would mangle or drop."""


_FORBIDDEN = frozenset(",=:|# \n")  # InfluxDB-tag separators, StatsD's line syntax


def labels(metric: Metric, *, tenant: str, pipeline: str, stage: str | None = None,
           table: str | None = None) -> dict[str, str]:
    """The tags of one data point of ``metric``: exactly the labels it declares, each a clean string."""
    given = {"tenant": tenant, "pipeline": pipeline, "stage": stage, "table": table}
    unexpected = sorted(k for k, v in given.items() if v is not None and k not in metric.labels)
    missing = sorted(k for k in metric.labels if not given[k])
    if unexpected or missing:
        raise LabelError(f"metric {metric.name} takes labels {list(metric.labels)}: "
                         f"missing {missing}, unexpected {unexpected}")
    if stage is not None and stage not in STAGES:
        raise LabelError(f"metric {metric.name}: stage {stage!r} is not one of {list(STAGES)}")
    tags = {k: str(given[k]) for k in metric.labels}
    for key, value in tags.items():
        if bad := sorted(set(value) & _FORBIDDEN):
            raise LabelError(f"metric {metric.name}: label {key}={value!r} contains {bad}")
    return tags

