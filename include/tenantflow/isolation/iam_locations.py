"""Where a tenant's AWS resources are, read from its config: S3 locations, queue ARNs (pure, no I/O).

Used by ``iam_policies`` to scope the tenant's documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tenantflow.catalog.warehouse import tenant_warehouse
from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import PlatformConfig

_GLOB = re.compile(r"[*?\[\]{}]")
_SQS_HOST = re.compile(r"^(?:sqs\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9])\.(?:queue\.)?amazonaws\.com")


@dataclass(frozen=True, order=True)
class S3Location:
    bucket: str
    prefix: str  # no leading/trailing '/'; '' = the whole bucket

    @classmethod
    def parse(cls, uri: str) -> S3Location | None:
        if not uri.startswith("s3://"):
            return None
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(bucket, key.strip("/"))


def landing_location(bundle: TenantBundle) -> S3Location | None:
    return S3Location.parse(bundle.tenant.storage.landing)


def _warehouse(bundle: TenantBundle, platform: PlatformConfig) -> tuple[str, bool]:
    """(the tenant's warehouse URI, whether it is the tenant's alone): ``storage.warehouse``, else the catalog's
    ``warehouse`` with '{tenant}' resolved (read from the config only: opening the catalog would need the cloud)."""
    own = tenant_warehouse(bundle.tenant, home="")  # storage.warehouse, as the catalog opens it
    if own is not None:
        return own, True
    settings = platform.catalogs[bundle.tenant.catalog.name]
    raw = settings.properties.get("warehouse", "") if settings.type != "rest" else ""
    return raw.replace("{tenant}", bundle.tenant.id), "{tenant}" in raw


def warehouse_location(bundle: TenantBundle, platform: PlatformConfig) -> S3Location | None:
    """The tenant's s3:// warehouse: its ``storage.warehouse``, or its part of the catalog's ``warehouse``.

    A catalog warehouse without '{tenant}' is one location for every tenant of the catalog (``tenantflow
    validate`` refuses that on s3://, but the documents stay correct for it): the tenant's tables are then under
    ``<warehouse>/<namespace>/`` (pyiceberg's SQL catalog) or ``<namespace>.db/`` (Glue, Hive style), and the
    prefix returned is ``<warehouse>/<namespace>`` (``warehouse_prefixes`` adds the other).
    """
    uri, own = _warehouse(bundle, platform)
    location = S3Location.parse(uri)
    if location is None or own:
        return location
    return S3Location(location.bucket, "/".join(p for p in (location.prefix, bundle.tenant.catalog.namespace) if p))


def warehouse_prefixes(bundle: TenantBundle, platform: PlatformConfig) -> list[str]:
    location = warehouse_location(bundle, platform)
    if location is None:
        return []
    if _warehouse(bundle, platform)[1]:
        return [location.prefix]
    return [location.prefix, f"{location.prefix}.db"]


def shared_by_construction(bundle: TenantBundle, platform: PlatformConfig) -> set[str]:
    """Buckets every tenant of the catalog writes into: a catalog warehouse whose bucket does not name '{tenant}'."""
    if bundle.tenant.storage.warehouse is not None:
        return set()
    raw = platform.catalogs[bundle.tenant.catalog.name].properties.get("warehouse", "")
    if not raw.startswith("s3://") or "{tenant}" in raw.removeprefix("s3://").partition("/")[0]:
        return set()
    location = warehouse_location(bundle, platform)
    return {location.bucket} if location else set()


def bucket_tenants(bundles: Mapping[str, TenantBundle], platform: PlatformConfig) -> dict[str, set[str]]:
    """Bucket → tenants whose landing or warehouse is in it."""
    owners: dict[str, set[str]] = {}
    for tenant_id, bundle in bundles.items():
        for location in (landing_location(bundle), warehouse_location(bundle, platform)):
            if location is not None:
                owners.setdefault(location.bucket, set()).add(tenant_id)
    return owners


def source_location(path: str) -> tuple[str, str, str] | None:
    """(bucket, object pattern, listed directory) of an s3:// files source; the glob's fixed part + '*'."""
    location = S3Location.parse(path)
    if location is None:
        return None
    key = path.removeprefix("s3://").partition("/")[2]
    glob = _GLOB.search(key)
    fixed = key[: glob.start()] if glob else key
    directory = fixed.rpartition("/")[0]
    return location.bucket, (fixed + "*") if glob else key, directory


def queue_arn(url: str, *, partition: str, default_region: str) -> str:
    """The ARN of an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)."""
    host, _, path = url.partition("://")[2].partition("/")
    owner, _, name = path.partition("/")
    match = _SQS_HOST.match(host)
    region = match["region"] if match else default_region
    return f"arn:{partition}:sqs:{region}:{owner}:{name}"
