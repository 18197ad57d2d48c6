"""Cross-checks: everything a tenant's config points at must belong to that tenant.

These checks are local to one tenant (they only need the ids of the other tenants),
so they run at DAG-parse time too; checks that compare whole tenants with each other
(e.g. two tenants sharing a landing location) run in ``tenantflow validate``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tenantflow.config.models import PipelineConfig, PlatformConfig, SqlSource, TenantConfig


@dataclass(frozen=True)
class Violation:
    field: str
    message: str
    hint: str


def _tokens(location: str) -> set[str]:
    """Bucket-name tokens and path segments of a location, normalised to '_' separators."""
    body = location.split("://", 1)[-1]
    tokens: set[str] = set()
    for segment in re.split(r"[/\\]+", body):
        segment = segment.lower()
        tokens.add(segment.replace("-", "_"))
        parts = re.split(r"[-._]", segment)
        # every run of consecutive parts, so 'acme-big-bank-raw' yields 'big_bank'
        for i in range(len(parts)):
            for j in range(i + 1, len(parts) + 1):
                tokens.add("_".join(parts[i:j]))
    return tokens


def location_owner_violation(
    field: str, location: str, tenant_id: str, other_tenants: Collection[str], *, must_name_tenant: bool
) -> Violation | None:
    tokens = _tokens(location)
    if ".." in re.split(r"[/\\]+", location):
        return Violation(field, f"{location!r} must not contain '..'", "use a path inside the tenant's area")
    foreign = sorted(t for t in other_tenants if t != tenant_id and t in tokens and tenant_id not in tokens)
    if foreign:
        return Violation(
            field,
            f"{location!r} points at tenant {foreign[0]!r}'s storage",
            f"use a location of tenant {tenant_id!r}",
        )
    if must_name_tenant and tenant_id not in tokens:
        return Violation(
            field,
            f"{location!r} is not a location of tenant {tenant_id!r}",
            f"name the tenant in the bucket or path, e.g. s3://acme-{tenant_id.replace('_', '-')}-landing/raw "
            f"or landing/{tenant_id}",
        )
    return None


def connection_violation(field: str, connection_id: str, tenant_id: str) -> Violation | None:
    if not connection_id.startswith(f"{tenant_id}__"):
        return Violation(
            field,
            f"connection {connection_id!r} does not belong to tenant {tenant_id!r}",
            f"tenant connections are named '{tenant_id}__<name>'",
        )
    return None


def tenant_violations(
    tenant: TenantConfig, platform: PlatformConfig, other_tenants: Collection[str]
) -> Iterable[Violation]:
    tid = tenant.id
    if v := location_owner_violation("storage.landing", tenant.storage.landing, tid, other_tenants,
                                     must_name_tenant=True):
        yield v
    namespace = tenant.catalog.namespace
    if namespace != tid and not namespace.startswith(f"{tid}_"):
        yield Violation(
            "catalog.namespace",
            f"namespace {namespace!r} does not belong to tenant {tid!r}",
            f"use '{tid}' or '{tid}_<suffix>'",
        )
    if tenant.catalog.name not in platform.catalogs:
        yield Violation(
            "catalog.name",
            f"unknown catalog {tenant.catalog.name!r}",
            f"catalogs defined in _platform.yaml: {', '.join(sorted(platform.catalogs))}",
        )


def pipeline_violations(
    pipeline: PipelineConfig, tenant_id: str, other_tenants: Collection[str]
) -> Iterable[Violation]:
    source = pipeline.source
    if source.connection_id is not None and (
        v := connection_violation("source.connection_id", source.connection_id, tenant_id)
    ):
        yield v
    if not isinstance(source, SqlSource) and (
        v := location_owner_violation("source.path", source.path, tenant_id, other_tenants,
                                      must_name_tenant=False)
    ):
        yield v
    keys = pipeline.target.merge_keys
    columns = source.columns if isinstance(source, SqlSource) else ()
    missing = [k for k in keys if columns and k not in columns]
    if missing:
        yield Violation(
            "target.merge_keys",
            f"merge key(s) {missing} are not in source.columns",
            "add them to source.columns",
        )
