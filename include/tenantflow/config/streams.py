"""Limits of stream sources (queues, CDC): how big one micro-batch may grow, how much one run drains.

Memory is bounded by the micro-batch limits, never by the depth of the queue: a consumer holds at most one
micro-batch (plus the broker's prefetch, which readers set from ``max_records``). A run stops after
``RunLimits`` and the next run continues where the committed stream position says.
"""

from __future__ import annotations

from pydantic import Field

from tenantflow.config.base import Model


class MicroBatchLimits(Model):
    max_records: int = Field(default=10_000, ge=1, le=1_000_000,
                             description="Messages (or changes) in one micro-batch, at most.")
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=2 * 1024**3,
                           description="Payload bytes of one micro-batch, at most.")
    max_seconds: float = Field(default=5.0, gt=0, le=3600,
                               description="Close a micro-batch this long after its first message.")


class RunLimits(Model):
    max_messages: int = Field(default=1_000_000, ge=1,
                              description="Messages (or changes) one run drains at most; the next run goes on.")
    max_seconds: float = Field(default=900.0, gt=0, le=86_400, description="Wall time of one run's draining.")
    idle_seconds: float = Field(default=2.0, ge=0, le=600,
                                description="End the run when nothing arrived for this long (the queue is drained).")
