"""Queue sources: RabbitMQ, Amazon SQS and Kinesis, one model per broker (``source.kind: queue`` + ``broker``).

Every queue source names the tenant's own connection (``connection_id: <tenant>__<name>``), the queue or
stream, the payload format and the declared column types, and the stream limits: ``batch`` (one micro-batch:
records, bytes, seconds) and ``per_run`` (what one run drains at most; the next run continues). Payloads are
one row per message: a JSON object (``format: json``), or an Avro object container whose embedded writer
schema types the row(s) (``format: avro``). A message that does not decode is a poison message: it goes to
the micro-batch's rejects with its reason and is acknowledged with the batch, so it never blocks the queue.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tenantflow.config.base import COLUMN_TYPE_PATTERN, Model
from tenantflow.config.streams import MicroBatchLimits, RunLimits

_QUEUE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,254}$"


class _QueueSourceBase(Model):
    kind: Literal["queue"]
    connection_id: str = Field(min_length=1, description="Tenant connection '<tenant>__<name>' of the broker.")
    format: Literal["json", "avro"] = Field(
        default="json",
        description="json: each message is one JSON object (a row); avro: each message is an Avro object "
        "container (its writer schema embedded) holding the row(s). A message that says what it is (its content "
        "type, e.g. application/avro, or an Avro container's magic bytes) is decoded as that.",
    )
    column_types: dict[str, Annotated[str, Field(pattern=COLUMN_TYPE_PATTERN)]] = Field(
        default_factory=dict,
        description="Declared column types (string, int32, int64, float32, float64, boolean, date, timestamp, "
        "timestamptz, decimal(p,s)); every declared column must be in each message (null allowed); a message "
        "missing one, or whose value does not convert, is rejected with its reason.",
    )
    batch: MicroBatchLimits = Field(default_factory=MicroBatchLimits,
                                    description="One micro-batch (one Iceberg commit): records, bytes, seconds.")
    per_run: RunLimits = Field(default_factory=RunLimits,
                               description="What one run drains at most; the next run goes on from there.")


class RabbitMQSource(_QueueSourceBase):
    broker: Literal["rabbitmq"]
    queue: str = Field(pattern=_QUEUE_NAME, description="The queue to consume (declared by its owner: checked "
                                                        "passively, never created).")


class SQSSource(_QueueSourceBase):
    broker: Literal["sqs"]
    queue: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,75}(\.fifo)?$",
                       description="The queue's name (its URL is looked up with the tenant's connection).")
    visibility_timeout_seconds: int = Field(
        default=300, ge=1, le=43_200,
        description="How long received messages stay invisible to other consumers; must outlast a micro-batch "
        "(its max_seconds plus the commit), or they are redelivered while still being loaded.",
    )

    @model_validator(mode="after")
    def _visibility_outlasts_a_batch(self) -> SQSSource:
        needed = self.batch.max_seconds + 60
        if self.visibility_timeout_seconds < needed:
            raise ValueError(
                f"visibility_timeout_seconds {self.visibility_timeout_seconds} is shorter than a micro-batch "
                f"(batch.max_seconds {self.batch.max_seconds:g} + 60 s for the commit): set it to at least "
                f"{int(needed)}"
            )
        return self


class KinesisSource(_QueueSourceBase):
    broker: Literal["kinesis"]
    stream: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$", description="The Kinesis data stream's name.")
    start_at: Literal["trim_horizon", "latest"] = Field(
        default="trim_horizon",
        description="Where a shard without a committed position starts: its oldest record, or new records only.",
    )


QueueSource = Annotated[RabbitMQSource | SQSSource | KinesisSource, Field(discriminator="broker")]
QUEUE_SOURCES = (RabbitMQSource, SQSSource, KinesisSource)
