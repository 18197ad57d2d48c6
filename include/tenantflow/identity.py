"""Whose cloud identity this process acts with: the tenant's own in a tenant's task, the platform's elsewhere.

A task runs for one tenant in a process of its own, so the identity is a process-wide fact set once when a
tenant's stage starts (``PipelineStageOperator.pre_execute``), not an argument threaded through every
landing, source and catalog call: an S3 access nobody remembered to route still uses the tenant's identity.

- In a tenant's task: the AWS connection ``<tenant>__aws`` (access keys, or a ``role_arn`` that Airflow's
  ``AwsBaseHook`` assumes through STS). Landing, the tenant's Iceberg warehouse and Glue use it.
- Elsewhere (the platform's maintenance DAG, sync, the CLI): the platform's ``aws_default``.

A connection that does not exist means ``AwsBaseHook``'s environment chain (instance profile, IRSA, ``AWS_*``):
on a tenant's own worker set or Kubernetes namespace that is the tenant's role (``tenantflow k8s``,
``workers.role_arn``); on shared workers it is the shared one, which ``[tenantflow] tenant_aws_identity =
required`` refuses (a tenant's task then fails naming the connection to create).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tenantflow import naming
from tenantflow.settings import setting

PLATFORM_AWS_CONN_ID = "aws_default"
TENANT_AWS_CONNECTION = "aws"
_MODES = ("fallback", "required")

_lock = threading.Lock()
_acting_tenant: str | None = None


class MissingTenantIdentity(LookupError):
    """A tenant's task would run with the environment's (shared) credentials while they are refused."""


def tenant_aws_conn_id(tenant_id: str) -> str:
    """The tenant's own AWS connection: ``<tenant>__aws``."""
    return f"{tenant_id}{naming.SEPARATOR}{TENANT_AWS_CONNECTION}"


def act_for(tenant_id: str | None) -> None:
    """From now on this process acts as ``tenant_id`` (None: as the platform)."""
    global _acting_tenant
    with _lock:
        _acting_tenant = tenant_id


def acting_tenant() -> str | None:
    return _acting_tenant


@contextmanager
def acting_for(tenant_id: str | None) -> Iterator[None]:
    """Act as ``tenant_id`` inside the block (the doctor checking a tenant, tests), then as before."""
    before = _acting_tenant
    act_for(tenant_id)
    try:
        yield
    finally:
        act_for(before)


def aws_conn_id() -> str:
    """The AWS connection of the identity this process acts with."""
    tenant = _acting_tenant
    return tenant_aws_conn_id(tenant) if tenant is not None else PLATFORM_AWS_CONN_ID


def tenant_identity_required() -> bool:
    """``[tenantflow] tenant_aws_identity``: ``required`` refuses a tenant task without its own connection."""
    mode = (setting("tenant_aws_identity", "fallback") or "fallback").strip().lower()
    if mode not in _MODES:
        raise ValueError(f"[tenantflow] tenant_aws_identity = {mode!r}: use one of {', '.join(_MODES)}")
    return mode == "required"
