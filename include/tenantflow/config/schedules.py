"""When a pipeline runs: a cron, the arrival of files in its S3 source, the update of upstream tables.

``schedule:`` of a pipeline is one of (or a cron combined with one of the events; a run starts on either):

* ``{cron: "0 2 * * *", timezone: Europe/Berlin}`` — time-based, as before;
* ``{on: file_arrival, queue: <SQS queue URL>}`` — for an S3 ``files`` source: the bucket's S3 event
  notifications go to the tenant's SQS queue; the triggerer watches it through the tenant's AWS connection,
  and each run loads exactly the objects the notifications name;
* ``{after: [<namespace>.<table>, ...]}`` — when every named table of the tenant was loaded since the last run
  (Airflow Assets, updated by the upstream pipelines' ``register`` task).

Checks that need the rest of the tenant (the upstream tables exist, no cycle) are in ``dependencies.py``;
ownership (the queue, the connection, the namespaces) in ``ownership.py``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tenantflow.config.base import Model, check_cron, check_timezone

TABLE_REF = re.compile(r"^(?:[a-z][a-z0-9_]{0,62}\.)?[a-z][a-z0-9_]{0,62}$")
QUEUE_URL = re.compile(r"^https?://[^/\s]+/[^/\s]+/(?P<name>[A-Za-z0-9_-]{1,80}(\.fifo)?)$")


class PipelineSchedule(Model):
    cron: str | None = Field(default=None, min_length=1,
                             description="Cron expression (5 fields or a preset like @daily).")
    timezone: str = Field(default="UTC", description="IANA time zone of the cron.")
    on: Literal["file_arrival"] | None = Field(
        default=None, description="file_arrival: run when S3 event notifications arrive on `queue` (S3 files "
                                  "sources only); the run loads exactly the notified objects.")
    queue: str | None = Field(
        default=None, description="on: file_arrival — URL of the tenant's SQS queue receiving the bucket's S3 "
                                  "event notifications (its name must name the tenant).")
    connection_id: str | None = Field(
        default=None, description="on: file_arrival — the tenant's AWS connection that reads the queue "
                                  "(default: source.connection_id).")
    poll_seconds: int = Field(default=30, ge=1, le=3600,
                              description="on: file_arrival — wait between two polls of an empty queue.")
    after: tuple[str, ...] = Field(
        default=(), description="Run when these tables of the tenant ('namespace.table' or 'table' in the "
                                "tenant's namespace) were all loaded since the last run.")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_key(cls, data: object) -> object:
        # YAML 1.1 reads the bare key `on` as the boolean true (as GitHub Actions users know): take it back
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("queue")
    @classmethod
    def _queue_url(cls, value: str | None) -> str | None:
        if value is not None and not QUEUE_URL.match(value):
            raise ValueError(f"queue {value!r} must be an SQS queue URL, e.g. "
                             "https://sqs.eu-west-1.amazonaws.com/123456789012/<tenant>-arrivals")
        return value

    @field_validator("after")
    @classmethod
    def _table_refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for table in value:
            if not TABLE_REF.match(table):
                raise ValueError(f"after: {table!r} must be 'namespace.table' or 'table' (lower-case identifiers)")
        if len(set(value)) != len(value):
            raise ValueError(f"after: {list(value)} names a table twice")
        return value

    @model_validator(mode="after")
    def _one_trigger_at_least(self) -> PipelineSchedule:
        if self.cron is None and self.on is None and not self.after:
            raise ValueError("`schedule:` needs `cron`, `on: file_arrival` or `after: [<table>, ...]` "
                             "(or remove it for manual runs only)")
        if self.on is not None and self.after:
            raise ValueError("a schedule runs `on: file_arrival` or `after:` tables, not both; use one (with a "
                             "`cron` as well if you like)")
        if self.on == "file_arrival" and self.queue is None:
            raise ValueError("`on: file_arrival` needs `queue:` (the URL of the tenant's SQS queue that receives "
                             "the bucket's S3 event notifications)")
        if self.on is None and (self.queue is not None or self.connection_id is not None):
            raise ValueError("`queue` and `connection_id` apply to `on: file_arrival`")
        return self

    @property
    def is_event_driven(self) -> bool:
        return self.on is not None or bool(self.after)

    def describe(self) -> str:
        """One line for listings, reviews and DAG docs: '0 2 * * * Europe/Berlin', 'after finance.fx_rates'…"""
        parts = []
        if self.on == "file_arrival":
            parts.append(f"on file arrival ({self.queue.rsplit('/', 1)[-1]})" if self.queue else "on file arrival")
        if self.after:
            parts.append(f"after {' & '.join(self.after)}")
        if self.cron is not None:
            parts.append(f"{self.cron} {self.timezone}")
        return " or ".join(parts)


def queue_name(queue_url: str) -> str:
    return queue_url.rsplit("/", 1)[-1]


def table_of(ref: str, namespace: str) -> tuple[str, str]:
    """(namespace, table) of an ``after:`` entry; a bare table is in the tenant's namespace."""
    ns, _, table = ref.rpartition(".")
    return (ns or namespace), table
