"""Dataset names of the lineage events, after the OpenLineage naming conventions.

* SQL tables: the namespace from the tenant's connection (``postgres://host:port``, ``mysql://host:port``,
  ``sqlite://<database file>``), the name ``database.schema.table`` / ``database.table`` / ``table``;
* files: ``s3://bucket`` / ``gs://bucket`` / ``az://container`` with the path before the first glob
  character as the name; local files: namespace ``file``, the absolute path;
* HTTP and GraphQL sources: ``https://host:port`` of the connection, the endpoint path;
* queues: ``amqp://host:port`` (RabbitMQ, the queue), ``sqs://<connection>`` / ``kinesis://<connection>``
  (the queue / stream; the connection id is the tenant's own, ``<tenant>__<name>``);
* the landing zone: the tenant's landing location (``file`` or ``s3://bucket``), one dataset per pipeline
  and stage of its batches (``<landing>/<pipeline>/_staging``, ``<landing>/<pipeline>``,
  ``<landing>/<pipeline>/_stages/approved`` / ``transformed``);
* Iceberg tables: namespace ``iceberg://<catalog>/<tenant>``, name ``<namespace>.<table>``.

Outputs of two tenants never share a dataset: every Iceberg namespace carries the tenant, and every
landing location is the tenant's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tenantflow import naming

if TYPE_CHECKING:
    from tenantflow.pipeline_context import PipelineContext

log = logging.getLogger(__name__)

GLOB = "*?["
# SQLAlchemy driver -> (OpenLineage scheme, default port)
SQL_SCHEMES = {"postgresql": ("postgres", 5432), "mysql": ("mysql", 3306), "mariadb": ("mysql", 3306),
               "mssql": ("sqlserver", 1433), "oracle": ("oracle", 1521)}
LANDING_STAGES = ("staging", "raw", "approved", "transformed")


@dataclass(frozen=True, order=True)
class DatasetId:
    namespace: str
    name: str


def iceberg_namespace(ctx: PipelineContext) -> str:
    return f"iceberg://{ctx.catalog_name}/{ctx.tenant_id}"


def table_dataset(ctx: PipelineContext, table: str | None = None) -> DatasetId:
    """An Iceberg table of the tenant: the target, or ``table`` ('table' in its namespace or 'namespace.table')."""
    identifier = ctx.table_identifier if table is None else table if "." in table else f"{ctx.namespace}.{table}"
    namespace = identifier.rsplit(".", 1)[0]
    if not naming.owns_namespace(ctx.tenant_id, namespace):  # config validation refuses it before this
        raise ValueError(f"tenant {ctx.tenant_id!r} does not own the Iceberg namespace of {identifier!r}")
    return DatasetId(iceberg_namespace(ctx), identifier)


def landing_dataset(ctx: PipelineContext, stage: str = "raw") -> DatasetId:
    """The pipeline's batches of one stage in the tenant's landing location (a dataset over all runs)."""
    suffix = {"staging": "/_staging", "raw": ""}.get(stage, f"/_stages/{stage}")
    if stage not in LANDING_STAGES:
        raise ValueError(f"unknown landing stage {stage!r}; one of {LANDING_STAGES}")
    return _location(f"{ctx.landing.rstrip('/')}/{ctx.pipeline.id}{suffix}")


def source_datasets(ctx: PipelineContext) -> list[DatasetId]:
    """What the pipeline's source reads, named from the tenant's connection (or the path)."""
    source = ctx.pipeline.source
    kind = source.kind
    if kind == "files":
        return [_location(_before_glob(ctx.source_location(source.path)))]
    if kind in ("sql", "cdc"):
        return _sql_datasets(ctx, source)
    if kind in ("http", "graphql"):
        base = _connection_value(lambda: _http_base(ctx.tenant_id, source.connection_id))
        if base is None:
            return [DatasetId(f"connection://{source.connection_id}", source.path)]
        parts = urlsplit(base)
        path = "/" + "/".join(p.strip("/") for p in (parts.path, source.path) if p.strip("/"))
        return [DatasetId(f"{parts.scheme}://{parts.netloc}", path)]
    if kind == "queue":
        return [_queue_dataset(ctx, source)]
    raise ValueError(f"no lineage naming for source kind {kind!r}")


def _location(uri: str) -> DatasetId:
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme == "file":
        path = rest if sep else uri
        return DatasetId("file", str(PurePosixPath(path)))
    bucket, _, key = rest.partition("/")
    return DatasetId(f"{scheme}://{bucket}", key.rstrip("/") or "/")


def _before_glob(path: str) -> str:
    """The folder a glob pattern lists (``sources/sales/*.csv`` -> ``sources/sales``); a plain path as it is."""
    if not any(c in path for c in GLOB):
        return path
    head = path[:min(path.index(c) for c in GLOB if c in path)]
    return head.rsplit("/", 1)[0] if "/" in head else head


def _connection_value(read: Any) -> Any:
    """A value read from the tenant's connection; None when it cannot be read here (logged, never raised)."""
    try:
        return read()
    except Exception as exc:  # lineage must never fail a task: the name falls back to the connection id
        log.warning("lineage: cannot read the source connection (%s); naming the dataset by connection id", exc)
        return None


def _http_base(tenant_id: str, connection_id: str) -> str:
    from tenantflow.sources.http import HttpSourceHook

    return HttpSourceHook(tenant_id=tenant_id, connection_id=connection_id).base_url_and_auth()[0]


def _sql_url(tenant_id: str, connection_id: str) -> Any:
    from tenantflow.sources.sql import SqlSourceHook

    return SqlSourceHook(tenant_id=tenant_id, connection_id=connection_id).sqlalchemy_url


def sql_namespace(url: Any) -> tuple[str, str | None]:
    """(namespace, database) of a SQLAlchemy URL: ``postgres://host:5432``, ``sqlite:///path/erp.db``…"""
    driver = url.drivername.split("+", 1)[0]
    if driver == "sqlite":
        return f"sqlite://{url.database or ''}", None
    scheme, port = SQL_SCHEMES.get(driver, (driver, None))
    return f"{scheme}://{url.host or 'localhost'}:{url.port or port}", url.database


def _sql_datasets(ctx: PipelineContext, source: Any) -> list[DatasetId]:
    url = _connection_value(lambda: _sql_url(ctx.tenant_id, source.connection_id))
    if url is None:
        namespace, database, driver = f"connection://{source.connection_id}", None, None
    else:
        (namespace, database), driver = sql_namespace(url), url.drivername.split("+", 1)[0]
    tables = [source.table] if getattr(source, "table", None) else _query_tables(source.query)
    return [DatasetId(namespace, _sql_name(driver, database, table)) for table in tables]


def _sql_name(driver: str | None, database: str | None, table: str) -> str:
    if driver == "sqlite" or database is None:
        return table
    if driver in ("postgresql", "mssql", "oracle") and "." not in table:
        table = f"{'dbo' if driver == 'mssql' else 'public'}.{table}"
    return f"{database}.{table}"


def _query_tables(query: str) -> list[str]:
    """The tables a source query reads (its own CTEs excluded), as written."""
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(query)
    ctes = {cte.alias_or_name for cte in parsed.find_all(exp.CTE)}
    names = {".".join(p for p in (t.catalog, t.db, t.name) if p) for t in parsed.find_all(exp.Table)}
    return sorted(n for n in names if n and n not in ctes)


def _queue_dataset(ctx: PipelineContext, source: Any) -> DatasetId:
    if source.broker == "rabbitmq":
        params = _connection_value(lambda: _rabbitmq_parameters(ctx.tenant_id, source.connection_id))
        namespace = f"amqp://{params.host}:{params.port}" if params else f"connection://{source.connection_id}"
        return DatasetId(namespace, source.queue)
    if source.broker == "sqs":
        return DatasetId(f"sqs://{source.connection_id}", source.queue)
    return DatasetId(f"kinesis://{source.connection_id}", source.stream)


def _rabbitmq_parameters(tenant_id: str, connection_id: str) -> Any:
    from tenantflow.sources.queue_rabbitmq import RabbitMQHook

    return RabbitMQHook(tenant_id=tenant_id, connection_id=connection_id).parameters()
