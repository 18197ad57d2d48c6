"""Tenant and pipeline configuration: plain, frozen data.

Every model is frozen and forbids unknown fields, so a typo in a tenant's YAML is an
error instead of a silently ignored setting. Models do no I/O; cross-file checks
(ownership of connections, storage and namespaces) live in ``ownership.py``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from tenantflow import naming
from tenantflow.config.alerting import PipelineSla, PlatformAlerting, TenantAlerting, fresh_by_interval
from tenantflow.config.base import COLUMN_TYPE_PATTERN, Classification, Model
from tenantflow.config.cdc import CDCSource, cdc_pipeline_problem
from tenantflow.config.costs import CostModel
from tenantflow.config.graphql import GraphQLSource
from tenantflow.config.maintenance import PipelineMaintenance, PlatformMaintenance, TenantMaintenance
from tenantflow.config.privacy import PiiPolicy
from tenantflow.config.processing import DatabricksCluster
from tenantflow.config.retention import PlatformRetention, RetentionSettings
from tenantflow.config.schedules import PipelineSchedule
from tenantflow.config.transform import Transform
from tenantflow.config.workers import WorkerSettings

SLUG = r"^[a-z][a-z0-9_]{1,30}[a-z0-9]$"
_SLUG_RE = re.compile(SLUG)


def _slug(value: str, what: str) -> str:
    if not _SLUG_RE.match(value) or "__" in value:
        raise ValueError(
            f"{what} {value!r} must be a lowercase slug: 3-32 characters of a-z, 0-9 and single '_', "
            "starting with a letter (e.g. 'finance' or 'orders_daily')"
        )
    return value


class Tier(StrEnum):
    standard = "standard"
    dedicated = "dedicated"


class Engine(StrEnum):
    local = "local"
    databricks = "databricks"


# --------------------------------------------------------------------------- tenant

NOTIFICATIONS_REMOVED = """`notifications:` was replaced by `alerting:`, whose targets name connections (the URL or \
token goes in the connection, not in git). The new form:
  alerting:
    targets:
      oncall_mail: {kind: smtp, connection: <tenant>__smtp, to: [oncall@example.com]}
      team_slack: {kind: slack, connection: <tenant>__slack}        # webhook URL in the connection
    events: {failure: critical, quality_warning: warning}          # event -> severity
    severities: {critical: [oncall_mail, team_slack], warning: [team_slack]}"""


class Contact(Model):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Quotas(Model):
    pool_slots: int = Field(ge=1, le=1024, description="Slots of the tenant's Airflow pool.")
    max_active_runs: int = Field(ge=1, le=256, description="Per pipeline DAG.")
    max_active_tasks: int = Field(ge=1, le=1024, description="Per DAG run.")
    worker_queue: str | None = Field(
        default=None, description="Celery queue for the tenant's tasks (tier 'dedicated': tenant_<id>)."
    )


# where raw batches may land: S3 (pyarrow), GCS and Azure Blob (fsspec), or a local path
LANDING_SCHEMES = ("s3", "gs", "az", "abfs")


class Storage(Model):
    landing: str = Field(
        min_length=1,
        description="Raw landing location: s3://, gs:// or az:// (abfs://) bucket/prefix, or a local path "
        "(relative to TENANTFLOW_HOME). The bucket or container names the tenant.",
    )
    warehouse: str | None = Field(
        default=None,
        description="The tenant's own Iceberg warehouse: s3:// bucket/prefix naming the tenant, or a local path "
        "(warehouse/<tenant>/...). Default: the catalog's `warehouse`, where '{tenant}' names the tenant. Tables "
        "go under <warehouse>/<namespace>/<table>; REST catalogs (Unity Catalog) choose locations themselves.",
    )
    kms_key_id: str | None = Field(
        default=None, description="KMS key id/ARN of the tenant: every object landed on s3, and every Iceberg "
        "data, manifest and metadata file on an s3:// warehouse, is written with SSE-KMS under it (GCS and Azure "
        "use the bucket's or account's own encryption keys)."
    )
    retention_days: int | None = Field(
        default=None, ge=1, le=3650,
        description="Raw batches, rejects and stale staging older than this are deleted by the land task "
        "(`retention:` sets them per kind; never longer than the platform's bound for the classification).",
    )

    @field_validator("landing")
    @classmethod
    def _landing_scheme(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if sep and scheme not in LANDING_SCHEMES:
            raise ValueError(f"landing {value!r} must be an s3://, gs://, az:// or abfs:// URI or a local path")
        if sep and not rest.partition("/")[0]:
            raise ValueError(f"landing {scheme}:// URI needs a bucket, e.g. {scheme}://acme-finance-landing/raw")
        return value

    @field_validator("warehouse")
    @classmethod
    def _warehouse_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if sep and (scheme != "s3" or not rest.partition("/")[0]):
            raise ValueError(f"warehouse {value!r} must be an s3:// bucket (and prefix) or a local path, e.g. "
                             "s3://acme-<tenant>-warehouse or warehouse/<tenant>")
        return value

    @model_validator(mode="after")
    def _kms_on_s3(self) -> Storage:
        # a local landing may still have an s3:// warehouse from the platform's catalog (checked with it)
        elsewhere = "://" in self.landing and not self.landing.startswith("s3://")
        if self.kms_key_id and elsewhere and not (self.warehouse or "").startswith("s3://"):
            raise ValueError(f"kms_key_id applies to an s3:// landing or warehouse, not {self.landing!r}: remove it "
                             "and set the bucket's default key (GCS CMEK, Azure customer-managed key) instead")
        return self


class CatalogRef(Model):
    name: str = Field(min_length=1, description="Catalog name defined in _platform.yaml `catalogs`.")
    namespace: str = Field(min_length=1, description="Iceberg namespace of the tenant's tables.")


class Access(Model):
    """Users (FAB usernames) holding each tenant role."""

    admins: tuple[str, ...] = ()
    engineers: tuple[str, ...] = ()
    analysts: tuple[str, ...] = ()
    stewards: tuple[str, ...] = ()


class RetryPolicy(Model):
    retries: int = Field(ge=0, le=20)
    retry_delay_seconds: int = Field(ge=1, le=86_400)
    exponential_backoff: bool = True
    max_retry_delay_seconds: int = Field(ge=1, le=86_400)


class TenantConfig(Model):
    id: str
    display_name: str = Field(min_length=1)
    tier: Tier
    owners: tuple[Contact, ...] = Field(min_length=1)
    quotas: Quotas
    storage: Storage
    catalog: CatalogRef
    default_engine: Engine
    databricks: DatabricksCluster | None = Field(
        default=None, description="Job cluster of pipelines with engine 'databricks' (connection <tenant>__databricks)."
    )
    access: Access = Access()
    alerting: TenantAlerting = Field(
        default_factory=TenantAlerting,
        description="Alert targets (on the tenant's connections), routing by severity, escalation, templates.",
    )
    notifications: None = Field(default=None, description="Removed: replaced by `alerting:` (see README).")
    classification: Classification
    retries: RetryPolicy
    maintenance: TenantMaintenance | None = Field(
        default=None, description="Changes to the platform's table maintenance, within its bounds."
    )
    retention: RetentionSettings | None = Field(
        default=None, description="Maximum age of raw batches, rejects and quarantine rows (within platform bounds)."
    )
    workers: WorkerSettings | None = Field(
        default=None,
        description="The tenant's own Celery workers (replicas, resources, nodes, IAM role); only with "
        "`quotas.worker_queue`. Omitted: 1 replica, 500m/1Gi requested, 2/4Gi limit, nodes labelled "
        "tenantflow.io/tenant=<id>, the shared workers' IAM role.",
    )

    @field_validator("id")
    @classmethod
    def _id_slug(cls, value: str) -> str:
        value = _slug(value, "tenant id")
        if naming.reserved_tenant_id(value):
            raise ValueError(f"tenant id {value!r} is reserved: it would own the platform's namespace "
                             f"{naming.AUDIT_NAMESPACE!r} (the tenants' audit trails); choose another id")
        return value

    @field_validator("notifications", mode="before")
    @classmethod
    def _notifications_removed(cls, value: object) -> None:
        if value is not None:
            raise ValueError(NOTIFICATIONS_REMOVED)
        return None

    @model_validator(mode="after")
    def _workers_need_a_queue(self) -> TenantConfig:
        if self.workers is not None and self.quotas.worker_queue is None:
            raise ValueError(
                "`workers` configures the tenant's own worker set, which consumes `quotas.worker_queue`: "
                f"set quotas.worker_queue: tenant_{self.id} (tier dedicated) or remove `workers`"
            )
        return self


# --------------------------------------------------------------------------- pipeline


class SqlSource(Model):
    kind: Literal["sql"]
    connection_id: str = Field(min_length=1, description="Airflow connection id, '<tenant>__<name>'.")
    table: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    query: str | None = None
    columns: tuple[str, ...] = ()
    batch_rows: int = Field(default=50_000, ge=100, le=5_000_000)
    partition_on: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Integer column to split a big read on: `partitions` ranges of equal width (and its NULLs) "
        "read in parallel, each on a connection of its own.",
    )
    partitions: int = Field(default=1, ge=1, le=32, description="Parallel reads with `partition_on` (2..32).")

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of `table` or `query`")
        if self.query is not None and self.columns:
            raise ValueError("`columns` applies to `table` only; select columns in the `query`")
        if (self.partition_on is None) != (self.partitions == 1):
            raise ValueError(f"`partition_on` and `partitions` go together: partition_on={self.partition_on!r}, "
                             f"partitions={self.partitions} (e.g. partition_on: order_id, partitions: 4)")
        if self.partition_on and self.columns and self.partition_on not in self.columns:
            raise ValueError(f"partition_on {self.partition_on!r} must be one of `columns` {list(self.columns)}")
        return self




FILES_SOURCE_SCHEMES = ("s3", "gs", "az", "abfs")
# gs:// and az:// have no environment chain of ours: a tenant always names its connection (and its type)
CLOUD_CONNECTION_TYPES = {"gs": "google_cloud_platform", "az": "wasb", "abfs": "wasb"}


class FilesSource(Model):
    kind: Literal["files"]
    path: str = Field(
        min_length=1,
        description="Local path (relative to TENANTFLOW_HOME), s3://, gs://, az:// or abfs:// URI; glob patterns "
        "allowed.",
    )
    format: Literal["csv", "json", "parquet", "avro"]
    connection_id: str | None = Field(
        default=None,
        description="The tenant's connection: aws for s3:// (optional: else the environment's chain), "
        "google_cloud_platform for gs://, wasb for az:// / abfs:// (required for both).",
    )
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    csv_header: bool = Field(default=True, description="CSV: the first line names the columns (else col_1, col_2…).")
    encoding: str = Field(default="utf-8", description="CSV: text encoding of the files, e.g. latin-1, utf-16.")
    column_types: dict[str, Annotated[str, Field(pattern=COLUMN_TYPE_PATTERN)]] = Field(
        default_factory=dict,
        description="Declared column types (string, int32, int64, float32, float64, boolean, date, timestamp, "
        "timestamptz, decimal(p,s)); values that do not convert are bad rows.",
    )
    on_bad_rows: Literal["fail", "reject"] = Field(
        default="fail",
        description="fail: the first malformed row fails the task, naming file, row and value; reject: malformed "
        "rows go to the pipeline's reject location with reasons and counts, the rest loads.",
    )
    max_rejected_rows: int | None = Field(
        default=None, ge=0, description="With on_bad_rows: reject, fail the run when more rows than this are rejected."
    )
    reload_all: bool = Field(
        default=False,
        description="Read every matching file on each run; by default append/merge pipelines read only new files.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use e.g. utf-8, latin-1, utf-16, cp1252") from None
        return value

    @field_validator("path")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep:
            return value
        if scheme not in FILES_SOURCE_SCHEMES:
            raise ValueError(f"path {value!r}: unsupported scheme {scheme + '://'!r}; use a local path or one of "
                             f"{', '.join(s + '://' for s in FILES_SOURCE_SCHEMES)}")
        bucket, _, key = rest.partition("/")
        if not bucket or not key:
            what = "container" if scheme in ("az", "abfs") else "bucket"
            raise ValueError(f"path {value!r} needs a {what} and an object pattern, e.g. "
                             f"{scheme}://acme-<tenant>-drops/sales/*.csv")
        return value

    @model_validator(mode="after")
    def _cloud_paths_need_a_connection(self) -> FilesSource:
        scheme = self.path.partition("://")[0]
        if scheme in CLOUD_CONNECTION_TYPES and self.connection_id is None:
            raise ValueError(f"path {self.path!r} is read through the tenant's own {CLOUD_CONNECTION_TYPES[scheme]} "
                             "connection: set source.connection_id to '<tenant>__<name>'")
        return self

    @model_validator(mode="after")
    def _options_match_format(self) -> FilesSource:
        if self.format != "csv" and (not self.csv_header or self.csv_delimiter != "," or self.encoding != "utf-8"):
            raise ValueError(f"csv_header, csv_delimiter and encoding apply to format 'csv', not {self.format!r}")
        if self.max_rejected_rows is not None and self.on_bad_rows != "reject":
            raise ValueError("max_rejected_rows applies with `on_bad_rows: reject`")
        return self


class Pagination(Model):
    type: Literal["none", "page", "offset", "cursor", "link"] = "none"
    size: int = Field(default=100, ge=1, le=100_000, description="Page size (page/offset).")
    size_param: str = "per_page"
    page_param: str = "page"
    start: int = Field(default=1, ge=0, description="First page number (page).")
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    cursor_path: str = Field(default="next_cursor", description="Dotted path of the next cursor in the body.")
    max_pages: int = Field(default=10_000, ge=1)


class HttpSource(Model):
    kind: Literal["http"]
    connection_id: str = Field(min_length=1, description="Tenant connection: base URL and auth.")
    path: str = Field(min_length=1, description="Endpoint path under the connection's base URL.")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    records_path: str | None = Field(default=None, description="Dotted path to the list of records, e.g. data.items.")
    pagination: Pagination = Pagination()
    retries: int = Field(default=5, ge=0, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)


# Queue sources (RabbitMQ, SQS, Kinesis) live in queues.py: a union of their own, discriminated by `broker`.
from tenantflow.config.queues import QueueSource  # noqa: E402

Source = Annotated[SqlSource | FilesSource | HttpSource | GraphQLSource | CDCSource | QueueSource,
                   Field(discriminator="kind")]


class Incremental(Model):
    cursor: str = Field(min_length=1, description="Column whose high-watermark selects new rows.")
    lookback_seconds: int = Field(
        default=0, ge=0,
        description="Re-read rows this far behind the watermark (late arrivals); needs target mode 'merge'.",
    )
    full_refresh: bool = Field(default=False, description="Ignore the watermark and read everything once more.")


# Quality rules live in quality_rules.py (re-exported here: one place to import config models from).
from tenantflow.config.quality_rules import (  # noqa: E402
    AcceptedValuesRule,
    AnomalyRule,
    ConditionRule,
    DuplicatesRule,
    FreshnessRule,
    GxExpectation,
    NotNullRule,
    Profiling,
    QualityCheck,
    QualityChecks,
    QualityRule,
    RangeRule,
    RegexRule,
    RowCountRule,
    SchemaRule,
    Severity,
    UniqueRule,
)

__all__ = [
    "AcceptedValuesRule", "AnomalyRule", "ConditionRule", "DuplicatesRule", "FreshnessRule", "GxExpectation",
    "NotNullRule", "Profiling", "QualityCheck", "QualityChecks", "QualityRule", "RangeRule", "RegexRule",
    "RowCountRule", "SchemaRule", "Severity", "UniqueRule",
]


class PartitionField(Model):
    column: str
    transform: Literal["identity", "year", "month", "day", "hour", "bucket", "truncate"] = "identity"
    width: int | None = Field(default=None, ge=1, description="Bucket count or truncate width.")

    @model_validator(mode="after")
    def _width(self) -> PartitionField:
        needs_width = self.transform in ("bucket", "truncate")
        if needs_width and self.width is None:
            raise ValueError(f"transform {self.transform!r} needs `width`")
        if not needs_width and self.width is not None:
            raise ValueError(f"`width` applies to bucket/truncate, not {self.transform!r}")
        return self


# pyiceberg FileIO settings (credentials, endpoints, encryption), reserved to the platform
FILE_IO_PREFIXES = ("s3.", "gcs.", "adls.", "client.", "hdfs.", "oss.")


class Target(Model):
    table: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    mode: Literal["append", "merge", "overwrite"]
    merge_keys: tuple[str, ...] = ()
    delete_flag: str | None = Field(
        default=None,
        description="merge: a boolean source column; rows where it is true delete their key from the table "
        "(the column itself is not stored).",
    )
    overwrite_scope: Literal["table", "partitions"] = Field(
        default="table",
        description="overwrite: replace the whole table, or only the partitions the batch has rows for.",
    )
    partition_by: tuple[PartitionField, ...] = ()
    comment: str | None = Field(default=None, description="Table comment in the catalog.")
    column_comments: dict[str, str] = Field(default_factory=dict, description="Column name -> comment.")
    properties: dict[str, str] = Field(
        default_factory=dict, description="Extra table properties (the 'tenantflow.' prefix is reserved)."
    )
    schema_policy: Literal["evolve", "freeze", "discard_columns"] = Field(
        default="evolve",
        description="New source columns: add them (evolve), fail with a diff (freeze) or drop them.",
    )

    @field_validator("properties")
    @classmethod
    def _no_reserved_properties(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.startswith("tenantflow.") or k == "comment")
        if reserved:
            raise ValueError(f"properties {reserved} are set by the platform; use `comment` for the table comment "
                             "and other keys for your own properties")
        # pyiceberg merges table properties over the catalog's when it opens a table's FileIO: these would
        # change the identity, endpoint or encryption of the files, or import a class named in YAML
        file_io = sorted(k for k in value if k == "py-io-impl" or k.startswith(FILE_IO_PREFIXES))
        if file_io:
            raise ValueError(f"properties {file_io} configure how the table's files are read and written, which the "
                             "platform sets (the tenant's identity and KMS key): remove them")
        return value

    @model_validator(mode="after")
    def _merge_keys(self) -> Target:
        if self.mode == "merge" and not self.merge_keys:
            raise ValueError("mode 'merge' needs `merge_keys` (the columns that identify a row)")
        if self.mode != "merge" and self.merge_keys:
            raise ValueError(f"`merge_keys` only applies to mode 'merge', not {self.mode!r}")
        if self.delete_flag is not None and self.mode != "merge":
            raise ValueError(f"`delete_flag` only applies to mode 'merge', not {self.mode!r}")
        if self.overwrite_scope == "partitions" and (self.mode != "overwrite" or not self.partition_by):
            raise ValueError("`overwrite_scope: partitions` needs mode 'overwrite' and a `partition_by`")
        return self


class PipelineConfig(Model):
    id: str
    description: str = ""
    tags: tuple[str, ...] = ()
    owner: str | None = Field(default=None, description="Defaults to the tenant's first owner.")
    schedule: PipelineSchedule | None = Field(
        default=None, description="A cron, `on: file_arrival` (S3 files sources) or `after:` upstream tables "
                                  "(optionally with a cron); none: manual runs only.")
    source: Source
    incremental: Incremental | None = None
    quality: QualityChecks = Field(
        default=(), description="tenantflow rules (`rule:`, judged by DuckDB) and Great Expectations "
                                "expectations (`gx:` + `kwargs:`, run by GX).")
    transform: Transform | None = Field(
        default=None, description="Spark SQL over the landed batch (relation `batch`) and lookup tables."
    )
    profiling: Profiling = Field(default_factory=Profiling, description="Per-column profile of every batch.")
    target: Target
    engine: Engine | None = Field(default=None, description="Defaults to the tenant's default_engine.")
    classification: Classification | None = Field(
        default=None, description="Defaults to the tenant's classification."
    )
    pii: PiiPolicy | None = Field(default=None, description="PII detection, masking and column classification.")
    maintenance: PipelineMaintenance | None = Field(
        default=None, description="Changes to the tenant's maintenance of this pipeline's table, within bounds."
    )
    retention: RetentionSettings | None = Field(
        default=None, description="Maximum age of this pipeline's raw batches, rejects and quarantine rows."
    )
    sla: PipelineSla | None = Field(
        default=None, description="Freshness (`fresh_by` a time of day) and `max_duration`; misses alert `sla_miss`."
    )
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id_slug(cls, value: str) -> str:
        if value == naming.MAINTENANCE:
            raise ValueError(f"pipeline id {value!r} is reserved for the platform's table-maintenance DAG of the "
                             "tenant; rename the pipeline file (e.g. 'maintenance_jobs.yaml')")
        return _slug(value, "pipeline id")

    @model_validator(mode="after")
    def _lookback_needs_merge(self) -> PipelineConfig:
        if self.incremental and self.incremental.lookback_seconds and self.target.mode != "merge":
            raise ValueError(
                "incremental.lookback_seconds re-reads rows, which only `target.mode: merge` can absorb "
                f"without duplicates (mode is {self.target.mode!r})"
            )
        return self

    @model_validator(mode="after")
    def _cdc_needs_merge_only(self) -> PipelineConfig:
        if self.source.kind == "cdc" and (problem := cdc_pipeline_problem(self)):
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _fresh_by_needs_a_daily_schedule(self) -> PipelineConfig:
        if self.sla is not None and self.sla.fresh_by is not None:
            if self.schedule is None:
                raise ValueError("sla.fresh_by is a deadline after each scheduled run: set `schedule` (a cron that "
                                 "fires once a day) or use only sla.max_duration")
            if self.schedule.is_event_driven or self.schedule.cron is None:
                raise ValueError("sla.fresh_by is measured from the cron's fire time, which runs started by an "
                                 f"event (schedule: {self.schedule.describe()}) do not have: use sla.max_duration, "
                                 "or a cron-only schedule")
            fresh_by_interval(self.schedule.cron, self.schedule.timezone, self.sla)  # raises if it cannot apply
        return self

    @property
    def arrival_connection_id(self) -> str | None:
        """The AWS connection whose credentials read the file-arrival queue (the tenant's own)."""
        if self.schedule is None or self.schedule.on != "file_arrival":
            return None
        return self.schedule.connection_id or self.source.connection_id

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if tag.startswith("tenant:"):
                raise ValueError(f"tag {tag!r}: the 'tenant:' tag is set by the platform, remove it")
        return value


# --------------------------------------------------------------------------- platform


class CatalogSettings(Model):
    type: Literal["sql", "rest", "glue"]
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="pyiceberg catalog properties; '{home}' is replaced by TENANTFLOW_HOME, '{tenant}' by the "
                    "tenant id and '{workspace}' by the host of the tenant's `connection`.",
    )
    connection: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]*$",
        description="Name of the tenant connection '<tenant>__<connection>' holding the catalog's credentials: "
                    "rest = workspace host + token (password) or OAuth client id/secret (login/password); "
                    "glue = AWS access key (login/password) and region (extra).",
    )


class PlatformConfig(Model):
    catalogs: dict[str, CatalogSettings] = Field(min_length=1)
    defaults: dict[str, dict] = Field(
        default_factory=dict, description="`tenant` and `pipeline` defaults merged under each config."
    )
    maintenance: PlatformMaintenance = Field(
        default=PlatformMaintenance(), description="Table maintenance defaults and the bounds tenants must keep."
    )
    retention: PlatformRetention = Field(
        default=PlatformRetention(), description="Maximum age of landed data per classification."
    )
    alerting: PlatformAlerting = Field(
        default=PlatformAlerting(), description="The platform's on-call: where tenants' escalations go."
    )
    costs: CostModel = Field(
        default=CostModel(), description="Prices of slot-hours, storage, landing and DBUs (`tenantflow usage`)."
    )

    @field_validator("defaults")
    @classmethod
    def _sections(cls, value: dict[str, dict]) -> dict[str, dict]:
        unknown = set(value) - {"tenant", "pipeline"}
        if unknown:
            raise ValueError(f"unknown defaults section(s) {sorted(unknown)}; use 'tenant' and 'pipeline'")
        return value
