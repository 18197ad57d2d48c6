"""Least-privilege AWS documents of a tenant, generated from its config (``tenantflow iam``).

Pure functions (no I/O, no boto3): a tenant bundle, the platform config and an ``AwsAccount`` in,
IAM JSON documents out. ``tenant_documents`` names them ``<kind>:<target>``:

* ``role_trust:<role>`` — who may assume the tenant role ``tenantflow-<tenant>`` (the platform role; the
  EKS IRSA federation of the tenant's workers is a Terraform variable). Absent when tenant.yaml names its
  own role (``workers.role_arn``): that role is managed elsewhere, only its policy is ours.
* ``role_policy:<role>`` — the role's identity policy: its landing bucket/prefix and Iceberg warehouse
  (read, write, delete), its S3 files sources (read only), its KMS key, its connections in Secrets Manager
  (``airflow/connections/<tenant>__*``), its SQS queues and Kinesis streams, its Glue database.
* ``bucket_policy:<bucket>`` — for the landing and warehouse buckets: deny every principal but the tenant
  role and the platform role, deny plain HTTP, and (landing, with a KMS key) deny a PutObject not
  encrypted with the tenant's key. A bucket SHARED by tenants (one prefix each, e.g. a warehouse
  ``s3://acme-warehouse/{tenant}``) gets no bucket-wide deny naming one tenant — that would lock every
  other tenant out — but per-prefix statements (``bucket/<prefix>/*``, and listing under the prefix);
  S3 holds one policy per bucket, so ``merge_documents`` joins the tenants' statements into one.
* ``kms_key_policy:<key>`` — the account may administer the key but not use it; the tenant role may
  encrypt/decrypt; the platform role may describe, decrypt and generate data keys (maintenance compacts
  the tenant's files under the same key), not encrypt arbitrary data.

Both the landing bucket (written with the tenant's key by ``tenantflow.landing.storage``) and the warehouse
(every Iceberg file written with it by ``tenantflow.catalog.sse_kms_io``) require the key on every put.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenantflow.config.loader import TenantBundle
from tenantflow.config.models import FilesSource, PlatformConfig
from tenantflow.config.queues import KinesisSource, SQSSource
from tenantflow.config.workers import IAM_ROLE_ARN
from tenantflow.isolation.iam_locations import (
    bucket_tenants,
    landing_location,
    queue_arn,
    shared_by_construction,
    source_location,
    warehouse_location,
    warehouse_prefixes,
)

VERSION = "2012-10-17"
SECRETS_PREFIX = "airflow/connections"  # the default connections_prefix of Airflow's SecretsManagerBackend
INLINE_ROLE_POLICY_LIMIT = 10_240  # characters, whitespace excluded (IAM quota)
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")

OBJECT_RW = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
KMS_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
KMS_ADMIN = ("kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
             "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:ScheduleKeyDeletion", "kms:TagResource",
             "kms:UntagResource", "kms:Update*")
SQS_CONSUME = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
               "sqs:ReceiveMessage")
KINESIS_READ = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                "kinesis:GetShardIterator", "kinesis:ListShards")
GLUE_TABLES = ("glue:CreateTable", "glue:DeleteTable", "glue:GetDatabase", "glue:GetPartitions", "glue:GetTable",
               "glue:GetTableVersions", "glue:GetTables", "glue:UpdateTable")


@dataclass(frozen=True, kw_only=True)
class AwsAccount:
    """The AWS account the platform runs in; raises ``ValueError`` naming what is wrong."""

    account_id: str
    region: str
    partition: str = "aws"
    platform_role_arn: str

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.account_id):
            raise ValueError(f"account id {self.account_id!r} must be the 12 digits of an AWS account, "
                             "e.g. 123456789012")
        if not _REGION.match(self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name, e.g. eu-west-1")
        role = self.platform_role_arn
        if not re.match(IAM_ROLE_ARN, role) or f"::{self.account_id}:" not in role:
            raise ValueError(f"platform role {role!r} must be an IAM role ARN of account {self.account_id}, "
                             f"e.g. arn:{self.partition}:iam::{self.account_id}:role/tenantflow-platform")

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")


# --------------------------------------------------------------------------- names


def tenant_role_name(tenant_id: str) -> str:
    return f"tenantflow-{tenant_id.replace('_', '-')}"


def tenant_role_arn(bundle: TenantBundle, account: AwsAccount) -> str:
    """The tenant's own worker role (``workers.role_arn``) if tenant.yaml names one, else ``tenantflow-<tenant>``."""
    workers = bundle.tenant.workers
    if workers is not None and workers.role_arn:
        return workers.role_arn
    return account.arn("iam", f"role/{tenant_role_name(bundle.tenant.id)}", region=False)


def role_name_of(role_arn: str) -> str:
    """The role's name (its ARN without path): also the name in its sessions' assumed-role ARNs."""
    return role_arn.rsplit("/", 1)[-1]


def session_arn_pattern(role_arn: str, account: AwsAccount) -> str:
    return f"arn:{account.partition}:sts::{account.account_id}:assumed-role/{role_name_of(role_arn)}/*"


def kms_key_arn(key: str, account: AwsAccount) -> str:
    """An ARN as is; a bare key id or an alias in the account's region."""
    if key.startswith("arn:"):
        return key
    return account.arn("kms", key if key.startswith("alias/") else f"key/{key}")


# --------------------------------------------------------------------------- statements


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str] | str | None, *, effect: str = "Allow",
               principal: Any = None, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        out["Principal"] = principal
    out["Action"] = sorted(set(actions))
    if resources is not None:  # trust policies name no resource
        out["Resource"] = resources if isinstance(resources, str) else sorted(set(resources))
    if condition:
        out["Condition"] = condition
    return out


def _document(statements: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": sorted(statements, key=lambda s: s["Sid"])}


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _object_arn(account: AwsAccount, bucket: str, pattern: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}/{pattern}"


def _bucket_arn(account: AwsAccount, bucket: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}"


def _list_condition(prefixes: Iterable[str]) -> dict[str, Any] | None:
    """ListBucket only under the prefixes ('' = the whole bucket: no condition)."""
    prefixes = sorted(set(prefixes))
    if "" in prefixes:
        return None
    return {"StringLike": {"s3:prefix": sorted({p for prefix in prefixes for p in (f"{prefix}/*", prefix)})}}


def _read_write(sid: str, account: AwsAccount, bucket: str, prefixes: list[str]) -> list[dict[str, Any]]:
    objects = [_object_arn(account, bucket, f"{p}/*" if p else "*") for p in prefixes]
    return [_statement(f"{sid}Objects", OBJECT_RW, objects),
            _statement(f"{sid}List", ["s3:ListBucket"], [_bucket_arn(account, bucket)],
                       condition=_list_condition(prefixes))]


def role_policy(bundle: TenantBundle, platform: PlatformConfig, account: AwsAccount) -> dict[str, Any]:
    """The tenant role's identity policy: only the tenant's own resources."""
    tenant = bundle.tenant
    statements: list[dict[str, Any]] = []
    if (landing := landing_location(bundle)) is not None:
        statements += _read_write("Landing", account, landing.bucket, [landing.prefix])
    if (warehouse := warehouse_location(bundle, platform)) is not None:
        statements += _read_write("Warehouse", account, warehouse.bucket, warehouse_prefixes(bundle, platform))
    sources: dict[str, tuple[set[str], set[str]]] = {}
    queues: set[str] = set()
    streams: set[str] = set()
    for pipeline in bundle.pipelines:
        source = pipeline.source
        if isinstance(source, FilesSource) and (found := source_location(source.path)):
            objects, directories = sources.setdefault(found[0], (set(), set()))
            objects.add(found[1])
            directories.add(found[2])
        elif isinstance(source, SQSSource):
            queues.add(account.arn("sqs", source.queue))
        elif isinstance(source, KinesisSource):
            streams.add(account.arn("kinesis", f"stream/{source.stream}"))
        if pipeline.schedule is not None and pipeline.schedule.on == "file_arrival" and pipeline.schedule.queue:
            queues.add(queue_arn(pipeline.schedule.queue, partition=account.partition,
                                 default_region=account.region))
    for bucket, (objects, directories) in sorted(sources.items()):
        sid = f"Source{_camel(bucket)}"
        statements.append(_statement(f"{sid}Read", ["s3:GetObject"],
                                     [_object_arn(account, bucket, o) for o in objects]))
        statements.append(_statement(f"{sid}List", ["s3:ListBucket"], [_bucket_arn(account, bucket)],
                                     condition=_list_condition(directories)))
    if tenant.storage.kms_key_id:
        statements.append(_kms_use_statement(tenant.storage.kms_key_id, account))
    statements.append(_statement(
        "ConnectionSecrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        [account.arn("secretsmanager", f"secret:{SECRETS_PREFIX}/{tenant.id}__*")]))
    if queues:
        statements.append(_statement("QueuesConsume", SQS_CONSUME, queues))
    if streams:
        statements.append(_statement("StreamsRead", KINESIS_READ, streams))
    if platform.catalogs[tenant.catalog.name].type == "glue":
        namespace = tenant.catalog.namespace
        statements.append(_statement("GlueNamespace", GLUE_TABLES, [
            account.arn("glue", "catalog"), account.arn("glue", f"database/{namespace}"),
            account.arn("glue", f"table/{namespace}/*")]))
    policy = _document(statements)
    size = len(json.dumps(policy, separators=(",", ":")))
    if size > INLINE_ROLE_POLICY_LIMIT:
        raise ValueError(f"tenant {tenant.id!r}: its role policy is {size:,} characters, over IAM's "
                         f"{INLINE_ROLE_POLICY_LIMIT:,} for an inline role policy; read its files sources from "
                         "fewer buckets or prefixes")
    return policy


def _kms_use_statement(key: str, account: AwsAccount) -> dict[str, Any]:
    arn = kms_key_arn(key, account)
    if ":alias/" not in arn:
        return _statement("KmsKeyUse", KMS_USE, [arn])
    # an alias ARN in Resource never matches the key itself: match the keys the alias points at instead
    return _statement("KmsKeyUse", KMS_USE, [account.arn("kms", "key/*")],
                      condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": arn.rpartition(":")[2]}})


def trust_policy(account: AwsAccount) -> dict[str, Any]:
    """The platform role may assume the tenant role (IRSA federation is added in Terraform)."""
    return _document([_statement("PlatformAssumes", ["sts:AssumeRole"], None, principal={
        "AWS": account.platform_role_arn})])


@dataclass(frozen=True, order=True)
class BucketGrant:
    """One tenant location in a bucket: ``kind`` 'Landing' or 'Warehouse'; ``kms_key`` is required on every
    PutObject under it."""

    tenant_id: str
    kind: str
    prefix: str
    role_arn: str
    kms_key: str | None = None


def bucket_policy(bucket: str, grants: Iterable[BucketGrant], account: AwsAccount, *, shared: bool) -> dict[str, Any]:
    """The policy of ``bucket`` holding the locations ``grants``.

    Not shared (one tenant): deny ``s3:*`` on the bucket and its objects to every principal but the
    tenant role and the platform role (and their sessions). Shared by tenants: the same deny per tenant
    location, on its prefix only (its objects, and listing under it), so that no tenant's statement locks
    another tenant out of the bucket. Either way: deny plain HTTP; a location with a KMS key (landing, warehouse)
    denies a PutObject not under that key (as configured or as its ARN). The account root can always
    replace the policy; ``terraform apply`` of it must run as the platform role.
    """
    grants = sorted(grants)
    tenants = {g.tenant_id for g in grants}
    if not shared and len(tenants) != 1:
        raise ValueError(f"bucket {bucket!r} holds locations of tenants {sorted(tenants)}: it is shared")
    bucket_arn, objects_arn = _bucket_arn(account, bucket), _object_arn(account, bucket, "*")
    statements = [_statement("DenyInsecureTransport", ["s3:*"], [bucket_arn, objects_arn], effect="Deny",
                             principal="*", condition={"Bool": {"aws:SecureTransport": "false"}})]
    for grant in grants:
        others = {"StringNotLike": {"aws:PrincipalArn": sorted({
            grant.role_arn, session_arn_pattern(grant.role_arn, account),
            account.platform_role_arn, session_arn_pattern(account.platform_role_arn, account)})}}
        objects = _object_arn(account, bucket, f"{grant.prefix}/*" if grant.prefix else "*")
        sid = f"{_camel(grant.tenant_id)}{grant.kind}" if shared else grant.kind
        if not shared and not any(s["Sid"] == "DenyAllButTenantAndPlatform" for s in statements):
            statements.append(_statement("DenyAllButTenantAndPlatform", ["s3:*"], [bucket_arn, objects_arn],
                                         effect="Deny", principal="*", condition=others))
        elif shared:
            statements.append(_statement(f"Deny{sid}ObjectsToOthers", ["s3:*"], [objects], effect="Deny",
                                         principal="*", condition=others))
            listing = {**others, "StringLike": {"s3:prefix": sorted([grant.prefix, f"{grant.prefix}/*"])}}
            statements.append(_statement(f"Deny{sid}ListingToOthers", ["s3:ListBucket"], [bucket_arn],
                                         effect="Deny", principal="*", condition=listing))
        if grant.kms_key is not None:
            keys = sorted({grant.kms_key, kms_key_arn(grant.kms_key, account)})
            unencrypted = {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": keys}}
            statements.append(_statement(f"Deny{sid}PutWithoutTenantKey", ["s3:PutObject"], [objects],
                                         effect="Deny", principal="*", condition=unencrypted))
    return _document(statements)


def kms_key_policy(role_arn: str, account: AwsAccount) -> dict[str, Any]:
    """Administered by the account (not used by it); used by the tenant role; by the platform for maintenance."""
    root = f"arn:{account.partition}:iam::{account.account_id}:root"
    return _document([
        _statement("AccountAdministers", KMS_ADMIN, "*", principal={"AWS": root}),
        _statement("TenantRoleUses", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*"],
                   "*", principal={"AWS": role_arn}),
        # maintenance (the platform's identity) rewrites the tenant's files when it compacts: under the same key
        _statement("PlatformMaintains", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"], "*",
                   principal={"AWS": account.platform_role_arn}),
    ])


# --------------------------------------------------------------------------- documents


def bucket_grants(bundle: TenantBundle, platform: PlatformConfig, account: AwsAccount) -> list[tuple[str, BucketGrant]]:
    """(bucket, grant) of the tenant's landing and warehouse locations."""
    role = tenant_role_arn(bundle, account)
    out = []
    if (landing := landing_location(bundle)) is not None:
        out.append((landing.bucket, BucketGrant(bundle.tenant.id, "Landing", landing.prefix, role,
                                                bundle.tenant.storage.kms_key_id)))
    if (warehouse := warehouse_location(bundle, platform)) is not None:
        for prefix in warehouse_prefixes(bundle, platform):
            out.append((warehouse.bucket, BucketGrant(bundle.tenant.id, "Warehouse", prefix, role,
                                                      bundle.tenant.storage.kms_key_id)))
    return out


def tenant_documents(bundle: TenantBundle, platform: PlatformConfig, account: AwsAccount, *,
                     shared_buckets: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """The tenant's documents by name (``<kind>:<target>``, see the module docstring).

    A bucket in ``shared_buckets`` (``bucket_tenants`` across every tenant) or shared by construction
    (a warehouse bucket without '{tenant}') gets this tenant's per-prefix statements only: merge them
    with the other tenants' (``documents``) before applying, S3 keeps a single policy per bucket.
    """
    shared = set(shared_buckets) | shared_by_construction(bundle, platform)
    role_arn = tenant_role_arn(bundle, account)
    role = role_name_of(role_arn)
    docs: dict[str, dict[str, Any]] = {f"role_policy:{role}": role_policy(bundle, platform, account)}
    workers = bundle.tenant.workers
    if workers is None or not workers.role_arn:
        docs[f"role_trust:{role}"] = trust_policy(account)
    by_bucket: dict[str, list[BucketGrant]] = {}
    for bucket, grant in bucket_grants(bundle, platform, account):
        by_bucket.setdefault(bucket, []).append(grant)
    for bucket, grants in sorted(by_bucket.items()):
        docs[f"bucket_policy:{bucket}"] = bucket_policy(bucket, grants, account, shared=bucket in shared)
    if key := bundle.tenant.storage.kms_key_id:
        docs[f"kms_key_policy:{key}"] = kms_key_policy(role_arn, account)
    return dict(sorted(docs.items()))


def merge_documents(parts: Sequence[Mapping[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Join documents of the same name (a shared bucket's policy): statements by Sid, each Sid once."""
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for docs in parts:
        for name, doc in docs.items():
            statements = merged.setdefault(name, {})
            for statement in doc["Statement"]:
                if statements.setdefault(statement["Sid"], statement) != statement:
                    raise ValueError(f"{name}: two different statements {statement['Sid']!r}")
    return {name: _document(statements.values()) for name, statements in sorted(merged.items())}


def documents(bundles: Mapping[str, TenantBundle], platform: PlatformConfig, account: AwsAccount, *,
              only: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """The documents of ``only`` (default: every tenant), shared bucket policies merged across them."""
    owners = bucket_tenants(bundles, platform)
    shared = {bucket for bucket, tenants in owners.items() if len(tenants) > 1}
    chosen = sorted(bundles if only is None else only)
    return merge_documents([tenant_documents(bundles[t], platform, account, shared_buckets=shared) for t in chosen])


def as_json(docs: Mapping[str, dict[str, Any]]) -> str:
    return json.dumps(dict(sorted(docs.items())), indent=2) + "\n"
