"""PII protection of a pipeline's rows: its policy (detection on by default), its tenant's key, one call.

Used wherever rows leave the landing zone for a table: the load (both engines) and the quarantine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from tenantflow.config.privacy import PiiPolicy
    from tenantflow.pii.protect import ProtectedBatch
    from tenantflow.pipeline_context import PipelineContext


def pipeline_policy(ctx: PipelineContext) -> PiiPolicy:
    """The pipeline's `pii:` block; without one, detection only (unmasked PII below restricted still fails)."""
    from tenantflow.config.privacy import PiiPolicy

    return ctx.pipeline.pii or PiiPolicy()


def pipeline_secret(ctx: PipelineContext) -> Callable[[], bytes]:
    """The tenant's HMAC key, read from its own connection on first use and then kept (one lookup per task)."""
    from tenantflow.pii.secrets import tenant_pii_secret

    policy = ctx.pipeline.pii
    return functools.cache(lambda: tenant_pii_secret(ctx.tenant_id, policy.secret_connection if policy else None))


def protect_rows(ctx: PipelineContext, table: pa.Table, secret: Callable[[], bytes] | None = None) -> ProtectedBatch:
    """Detect, check and mask ``table`` with the pipeline's policy (see ``pii.protect.protect_batch``)."""
    from tenantflow.pii.protect import protect_batch

    return protect_batch(table, pipeline_policy(ctx), tenant_id=ctx.tenant_id, pipeline=ctx.dag_id,
                         classification=ctx.classification, secret=secret or pipeline_secret(ctx))
