"""Cross-checks: everything a tenant's config points at must belong to that tenant.

These checks are local to one tenant (they only need the ids of the other tenants),
so they run at DAG-parse time too; checks that compare whole tenants with each other
(e.g. two tenants sharing a landing location) run in ``tenantflow validate``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tenantflow import naming
from tenantflow.config.models import PipelineConfig, PlatformConfig, SqlSource, TenantConfig


@dataclass(frozen=True)
class Violation:
    field: str
    message: str
    hint: str


_GLOB = re.compile(r"[*?\[\]{}]")
# buckets (s3, gs) and Azure containers: named by the same rule, the tenant's storage is the one it names
OBJECT_STORE_SCHEMES = ("s3", "gs", "az", "abfs")


def _segments(location: str) -> tuple[str, list[str]]:
    """(bucket or '', path segments) of an s3://, gs://, az:// or abfs:// URI (the container is the bucket)
    or a local path."""
    scheme, sep, rest = location.partition("://")
    if sep and scheme in OBJECT_STORE_SCHEMES:
        bucket, _, key = rest.partition("/")
        return bucket.lower(), [s for s in key.split("/") if s]
    return "", [s for s in re.split(r"[/\\]+", location) if s]


def _scheme(location: str) -> str:
    scheme, sep, _ = location.partition("://")
    return scheme if sep and scheme in OBJECT_STORE_SCHEMES else "s3"


def _runs(name: str) -> set[str]:
    """Every run of consecutive name parts, '_'-joined: 'acme-big-bank-raw' yields 'big_bank'."""
    parts = [p for p in re.split(r"[-._]", name.lower()) if p]
    return {"_".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}


def _foreign(names: set[str], tenant_id: str, other_tenants: Collection[str]) -> list[str]:
    """Other tenants named in ``names``; ids contained in this tenant's own id ('retail' in 'retail_eu') are not."""
    own = _runs(tenant_id)
    # iterate the few names of one location, not all tenants (that would be quadratic over a parse)
    return sorted(n for n in names if n != tenant_id and n in other_tenants and n not in own)


def location_owner_violation(
    field: str, location: str, tenant_id: str, other_tenants: Collection[str], *, kind: str
) -> Violation | None:
    """Check a landing location (``kind='landing'``), a warehouse (``'warehouse'``) or a file source path
    (``kind='source'``)."""
    bucket, segments = _segments(location)
    store = f"{_scheme(location)}://acme-{tenant_id.replace('_', '-')}"
    example = {"landing": f"{store}-landing/raw or landing/{tenant_id}",
               "warehouse": f"{store}-warehouse or warehouse/{tenant_id}"}.get(
                   kind, f"sources/{tenant_id}/<dataset>/*.csv or {store}-drop/...")
    if ".." in segments:
        return Violation(field, f"{location!r} must not contain '..'", f"use e.g. {example}")
    if not bucket and "://" not in location and (location.startswith(("/", "\\")) or ":" in location):
        return Violation(field, f"absolute local path {location!r} is not allowed",
                         f"use a path relative to TENANTFLOW_HOME, e.g. {example}")
    if bucket and _GLOB.search(bucket):
        return Violation(field, f"bucket name {bucket!r} must not contain wildcards", f"use e.g. {example}")
    names = _runs(bucket) | {s.lower().replace("-", "_") for s in segments if not _GLOB.search(s)}
    if foreign := _foreign(names, tenant_id, other_tenants):
        return Violation(field, f"{location!r} points at tenant {foreign[0]!r}'s storage",
                         f"use a location of tenant {tenant_id!r}, e.g. {example}")
    if bucket:
        if tenant_id not in _runs(bucket) and kind in ("landing", "warehouse"):
            return Violation(field, f"bucket {bucket!r} is not a bucket of tenant {tenant_id!r}",
                             f"name the tenant in the bucket, e.g. {example}")
        return None
    # local paths: a fixed area per tenant, with no wildcard before the tenant's own folder
    area = [{"landing": "landing", "warehouse": "warehouse"}.get(kind, "sources"), tenant_id]
    if [s.lower() for s in segments[:2]] != area:
        return Violation(field, f"{location!r} is outside tenant {tenant_id!r}'s local area "
                         f"'{'/'.join(area)}/'", f"use e.g. {example}")
    return None


def connection_violation(field: str, connection_id: str, tenant_id: str) -> Violation | None:
    if not naming.owns_connection(tenant_id, connection_id):
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
                                     kind="landing"):
        yield v
    yield from storage_violations(tenant, platform, other_tenants)
    queue = tenant.quotas.worker_queue
    if queue is not None and queue != f"tenant_{tid}":
        yield Violation("quotas.worker_queue", f"queue {queue!r} must be 'tenant_{tid}'",
                        "a tenant may only use its own worker queue")
    namespace = tenant.catalog.namespace
    if not naming.owns_namespace(tid, namespace):
        yield Violation(
            "catalog.namespace",
            f"namespace {namespace!r} does not belong to tenant {tid!r}",
            f"use '{tid}' or '{tid}_<suffix>'",
        )
    for name, target in tenant.alerting.targets.items():
        if v := connection_violation(f"alerting.targets.{name}.connection", target.connection, tid):
            yield v
    if tenant.alerting.escalation is not None and platform.alerting.oncall is None:
        yield Violation("alerting.escalation", "escalation to the platform's on-call is set, but _platform.yaml "
                        "defines no `alerting.oncall`", "ask the platform team, or remove `alerting.escalation`")
    if tenant.catalog.name not in platform.catalogs:
        yield Violation(
            "catalog.name",
            f"unknown catalog {tenant.catalog.name!r}",
            f"catalogs defined in _platform.yaml: {', '.join(sorted(platform.catalogs))}",
        )


def storage_violations(
    tenant: TenantConfig, platform: PlatformConfig, other_tenants: Collection[str]
) -> Iterable[Violation]:
    """The tenant's warehouse and KMS key are its own, and its tables do not share a warehouse with others."""
    tid, storage = tenant.id, tenant.storage
    catalog = platform.catalogs.get(tenant.catalog.name)
    if storage.warehouse is not None:
        if v := location_owner_violation("storage.warehouse", storage.warehouse, tid, other_tenants,
                                         kind="warehouse"):
            yield v
        if catalog is not None and catalog.type == "rest":
            yield Violation("storage.warehouse", f"catalog {tenant.catalog.name!r} is a REST catalog, which chooses "
                            "table locations itself", "remove storage.warehouse (set the location in the catalog)")
    shared = catalog.properties.get("warehouse", "") if catalog is not None and catalog.type != "rest" else ""
    if storage.warehouse is None and "://" in shared and not shared.startswith("file://") and "{tenant}" not in shared:
        yield Violation("storage.warehouse", f"catalog {tenant.catalog.name!r} writes every tenant's tables under one "
                        f"warehouse {shared!r}", f"set storage.warehouse (e.g. s3://acme-{tid.replace('_', '-')}"
                        "-warehouse), or the platform names '{tenant}' in the catalog's warehouse")
    if storage.kms_key_id is not None:
        key_name = storage.kms_key_id.rsplit(":", 1)[-1]  # an ARN's 'key/<id>' or 'alias/<name>'
        if foreign := _foreign(_runs(key_name.replace("/", "-")), tid, other_tenants):
            yield Violation("storage.kms_key_id", f"key {storage.kms_key_id!r} names tenant {foreign[0]!r}",
                            f"use a key of tenant {tid!r}, e.g. alias/{tid.replace('_', '-')}-data")
        warehouse = storage.warehouse or shared
        if not storage.landing.startswith("s3://") and not warehouse.startswith("s3://"):
            yield Violation("storage.kms_key_id", f"key {storage.kms_key_id!r} has nothing to encrypt: neither the "
                            "landing nor the warehouse is on s3://", "remove kms_key_id")


def pipeline_violations(
    pipeline: PipelineConfig, tenant_id: str, other_tenants: Collection[str]
) -> Iterable[Violation]:
    source = pipeline.source
    if source.connection_id is not None and (
        v := connection_violation("source.connection_id", source.connection_id, tenant_id)
    ):
        yield v
    if getattr(source, "kind", None) == "files" and (
        v := location_owner_violation("source.path", source.path, tenant_id, other_tenants, kind="source")
    ):
        yield v
    secret = pipeline.pii.secret_connection if pipeline.pii is not None else None
    if secret is not None and (v := connection_violation("pii.secret_connection", secret, tenant_id)):
        yield v
    if pipeline.transform is not None:
        yield from lookup_violations(pipeline.transform.lookups, tenant_id)
    yield from schedule_violations(pipeline, tenant_id, other_tenants)
    keys = pipeline.target.merge_keys
    columns = source.columns if isinstance(source, SqlSource) else ()
    missing = [k for k in keys if columns and k not in columns]
    if missing:
        yield Violation(
            "target.merge_keys",
            f"merge key(s) {missing} are not in source.columns",
            "add them to source.columns",
        )


def lookup_violations(lookups: dict[str, str], tenant_id: str) -> Iterable[Violation]:
    """Lookup tables of a transform must be in a namespace of the tenant ('table' = the tenant's own)."""
    for name, table in lookups.items():
        namespace, _, _ = table.rpartition(".")
        if namespace and not naming.owns_namespace(tenant_id, namespace):
            yield Violation(
                f"transform.lookups.{name}",
                f"lookup table {table!r} is in namespace {namespace!r}, which does not belong to tenant {tenant_id!r}",
                f"use a table of '{tenant_id}' or '{tenant_id}_<suffix>' (or just the table name)",
            )


def schedule_violations(
    pipeline: PipelineConfig, tenant_id: str, other_tenants: Collection[str]
) -> Iterable[Violation]:
    """An event schedule watches only the tenant's own queue (through its own connection) and tables."""
    from tenantflow.config.schedules import queue_name

    schedule = pipeline.schedule
    if schedule is None:
        return
    yield from _file_arrival_fit(pipeline)
    if schedule.connection_id is not None and (
        v := connection_violation("schedule.connection_id", schedule.connection_id, tenant_id)
    ):
        yield v
    if schedule.queue is not None:
        name = queue_name(schedule.queue)
        example = f"https://sqs.<region>.amazonaws.com/<account>/{tenant_id.replace('_', '-')}-arrivals"
        if foreign := _foreign(_runs(name), tenant_id, other_tenants):
            yield Violation("schedule.queue", f"queue {name!r} is a queue of tenant {foreign[0]!r}",
                            f"watch a queue of tenant {tenant_id!r}, e.g. {example}")
        elif tenant_id not in _runs(name):
            yield Violation("schedule.queue", f"queue {name!r} is not a queue of tenant {tenant_id!r}",
                            f"name the tenant in the queue, e.g. {example}")
    for i, table in enumerate(schedule.after):
        namespace, _, _ = table.rpartition(".")
        if namespace and not naming.owns_namespace(tenant_id, namespace):
            owner = next((t for t in sorted(other_tenants) if naming.owns_namespace(t, namespace)), None)
            whose = f"tenant {owner!r}'s namespace" if owner else f"namespace {namespace!r}, not one of {tenant_id!r}"
            yield Violation(f"schedule.after.{i}", f"after: {table!r} is in {whose}",
                            f"a pipeline may only wait for tables of tenant {tenant_id!r} "
                            f"('{tenant_id}.<table>' or just the table name)")


def _file_arrival_fit(pipeline: PipelineConfig) -> Iterable[Violation]:
    """``on: file_arrival`` needs an S3 files source read with a tenant connection, appended or merged."""
    schedule, source = pipeline.schedule, pipeline.source
    if schedule is None or schedule.on != "file_arrival":
        return
    if source.kind != "files" or not source.path.startswith("s3://"):
        where = f"a {source.kind!r} source" if source.kind != "files" else f"local path {source.path!r}"
        yield Violation("schedule.on", f"`on: file_arrival` watches S3 event notifications, so it needs a files "
                        f"source on s3:// (this pipeline has {where})", "use a `cron` schedule instead")
        return
    if pipeline.arrival_connection_id is None:
        yield Violation("schedule.on", "`on: file_arrival` reads the queue through the tenant's AWS connection, "
                        "and none is named", "set source.connection_id (or schedule.connection_id) to "
                        "'<tenant>__<name>'")
    if source.reload_all or pipeline.target.mode == "overwrite":
        field = "source.reload_all" if source.reload_all else "target.mode"
        yield Violation(field, "`on: file_arrival` loads exactly the notified objects, which `target.mode: "
                        "overwrite` or `source.reload_all` would replace the table with", "use mode append or merge")
