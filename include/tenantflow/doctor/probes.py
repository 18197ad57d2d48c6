"""Does a connection answer? One probe per purpose, each through the hook the pipelines use.

Each probe is cheap and bounded: SELECT 1 with a connect timeout, an HTTP HEAD (GET when HEAD is not
allowed), a GraphQL ``{ __typename }`` POST, an S3 HeadBucket + one ListObjectsV2 page (gs:// / az://:
the bucket or container exists and its prefix is listed), one Databricks
jobs/list GET filtered to a name no job has, and reading the PII key (never shown).
"""

from __future__ import annotations

import fnmatch
import glob
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tenantflow.doctor.plan import Need, Purpose
from tenantflow.doctor.redaction import Redactor
from tenantflow.doctor.result import Probe, Status, error_text

# what the missing connection must hold, for the "create it" hint
CONNECTION_KINDS: dict[str, str] = {
    "sql": "the source database: type postgres/mysql/sqlite, host, port, schema = database, login, password",
    "http": "the API's base URL as host (+ schema http/https, port) and its auth (extra auth_type)",
    "graphql": "the API's base URL as host (+ schema http/https, port) and its auth (extra auth_type), as for "
               "http sources",
    "files": "s3://: type aws: keys or role_arn, extra region_name and endpoint_url when not AWS; gs://: type "
             "google_cloud_platform, extra keyfile_dict or key_path; az:// / abfs://: type wasb, login = storage "
             "account, password = account key (or extra connection_string)",
    "cdc": "type postgres: host, port, schema = database, a login with the REPLICATION attribute, password",
    "queue": "rabbitmq: type amqp, host, port, login, password, vhost as schema; sqs/kinesis: type aws, keys or "
             "role_arn, extra region_name (and endpoint_url when not AWS)",
    "arrivals": "type aws: keys or role_arn allowed to receive from and delete on the queue, extra region_name",
    "databricks": "type databricks: the workspace URL as host and a token as password",
    "pii": "type generic, its password a random key of at least 16 bytes, e.g. "
           '`airflow connections add {id} --conn-type generic --conn-password "$(openssl rand -hex 32)"`',
    "catalog": "the catalog's credentials: workspace host + token, or OAuth client id/secret as login/password",
}


def build_hook(tenant_id: str, need: Need, timeout: float) -> Any:
    """The hook a run uses for ``need``, with short timeouts and no retries (a doctor reports, it does not wait)."""
    if need.purpose in ("sql", "http", "graphql", "files"):
        from tenantflow.sources.registry import source_hook

        assert need.source is not None
        kwargs: dict[str, Any] = {}
        if need.purpose == "files":  # botocore Config options (AwsBaseHook builds the Config from a dict)
            kwargs["config"] = {"connect_timeout": timeout, "read_timeout": timeout, "retries": {"max_attempts": 1}}
        return source_hook(tenant_id, need.source, **kwargs)
    if need.purpose == "cdc":
        from tenantflow.sources.cdc_postgres import PostgresCDCHook

        assert need.connection_id is not None
        return PostgresCDCHook(tenant_id=tenant_id, connection_id=need.connection_id)
    if need.purpose == "queue":
        from tenantflow.streams.registry import source_reader

        assert need.source is not None
        return source_reader(tenant_id, need.source).hook
    if need.purpose == "arrivals":
        from tenantflow.sources.queue_sqs import SQSSourceHook

        assert need.connection_id is not None
        return SQSSourceHook(tenant_id=tenant_id, connection_id=need.connection_id)
    if need.purpose == "databricks":
        from airflow.providers.databricks.hooks.databricks import DatabricksHook

        return DatabricksHook(databricks_conn_id=need.connection_id, timeout_seconds=math.ceil(timeout),
                              retry_limit=1, caller="tenantflow doctor")
    if need.purpose == "pii":
        from tenantflow.pii.secrets import PiiSecretHook

        return PiiSecretHook(tenant_id=tenant_id, connection_id=need.connection_id)
    from tenantflow.catalog.connection import CatalogConnectionHook

    assert need.connection_id is not None
    return CatalogConnectionHook(tenant_id=tenant_id, connection_id=need.connection_id)


def probe_sql(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    try:
        url = hook.sqlalchemy_url
    except ValueError as exc:
        return Probe(Status.FAIL, str(exc), f"fix the type of connection `{need.connection_id}`")
    redactor.remember(url.password or "")
    backend = url.get_backend_name()
    if backend == "sqlite":
        where = f"sqlite {url.database}"
        if not url.database or not Path(url.database).is_file():  # connecting would create an empty file
            return Probe(Status.FAIL, f"{where}: no such database file",
                         f"set the host of `{need.connection_id}` to the source's SQLite file")
        connect_args: dict[str, Any] = {"timeout": timeout}
    else:
        where = f"{backend} {url.host or 'localhost'}{f':{url.port}' if url.port else ''}/{url.database or ''}"
        connect_args = {"connect_timeout": max(1, math.ceil(timeout))} if backend in ("postgresql", "mysql") else {}
    engine = hook.get_sqlalchemy_engine(engine_kwargs={"connect_args": connect_args, "poolclass": NullPool})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error is the answer
        return Probe(Status.FAIL, f"{where}: SELECT 1 failed: {error_text(exc)}",
                     f"check host, port, database (schema) and login of `{need.connection_id}`: the database must "
                     "exist and accept that login from this host")
    finally:
        engine.dispose()
    return Probe(Status.OK, f"{where} answers SELECT 1")


def probe_cdc(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    """The source is set up for CDC: wal_level=logical, a REPLICATION login, a primary key, the publication."""
    from tenantflow.sources.cdc_postgres import CDCSetupError, check_source

    try:
        conn = hook.connect(connect_timeout=max(1, math.ceil(timeout)))
    except Exception as exc:  # noqa: BLE001 - any driver error is the answer
        return Probe(Status.FAIL, f"cannot connect: {error_text(exc)}",
                     f"check host, port, database (schema) and login of `{need.connection_id}`")
    try:
        check_source(conn, need.source, need.connection_id or "", None)
    except CDCSetupError as exc:
        return Probe(Status.FAIL, str(exc), "set the source database up for CDC (README: PostgreSQL CDC)")
    except Exception as exc:  # noqa: BLE001
        return Probe(Status.FAIL, f"checking the CDC setup failed: {error_text(exc)}")
    finally:
        conn.close()
    return Probe(Status.OK, f"wal_level=logical, REPLICATION login, {need.source.table} has a primary key and is "
                            f"in publication {need.source.publication}")


def probe_queue(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    """The broker accepts the login and the queue (stream) exists: a passive declare or a describe call."""
    from tenantflow.sources.errors import SourceQueryError, SourceUnavailable

    assert need.location is not None
    field = ("source.stream" if getattr(need.source, "broker", None) == "kinesis" else "source.queue") \
        if need.purpose == "queue" else "schedule.queue"
    try:
        return Probe(Status.OK, hook.describe(need.location, timeout))
    except SourceUnavailable as exc:
        return Probe(Status.FAIL, str(exc), f"check host, port, vhost (schema) and login of `{need.connection_id}`")
    except SourceQueryError as exc:
        return Probe(Status.FAIL, str(exc), f"create it, or fix {field} (and the region, vhost or permissions of "
                                            f"`{need.connection_id}`); tenantflow never creates queues")
    except Exception as exc:  # noqa: BLE001 - botocore's transport errors (endpoint unreachable, timeouts)
        return Probe(Status.FAIL, f"no answer: {error_text(exc)}",
                     f"check the endpoint_url/region or host/port of `{need.connection_id}`")


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) \
        if parts.hostname else url


def _unreachable(shown: str, conn_id: str | None, exc: Exception) -> Probe:
    return Probe(Status.FAIL, f"{shown}: no answer: {error_text(exc)}",
                 f"check host, schema and port of `{conn_id}`; the API must be reachable from the workers")


def _refused_or_failing(shown: str, conn_id: str | None, code: int) -> Probe | None:
    """The FAIL of an HTTP API that refused the credentials or failed itself; None when it answered."""
    if code in (401, 403):
        return Probe(Status.FAIL, f"{shown}: credentials refused (HTTP {code})",
                     f"check the token or login/password of `{conn_id}` (extra auth_type: bearer, basic, api_key "
                     "or none)")
    if code >= 500:
        return Probe(Status.FAIL, f"{shown}: server error (HTTP {code})",
                     "the API answers but fails: check the service, then run the doctor again")
    return None


def probe_http(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    import httpx

    base_url, auth = hook.base_url_and_auth()
    shown, conn_id = _without_userinfo(base_url), need.connection_id
    try:
        with httpx.Client(headers=auth.headers, auth=auth.basic, timeout=timeout, follow_redirects=True) as client:
            response = client.head(base_url)
            if response.status_code in (405, 501):  # HEAD not allowed here: a GET of the base URL instead
                response = client.get(base_url)
    except httpx.HTTPError as exc:
        return _unreachable(shown, conn_id, exc)
    code = response.status_code
    if (failed := _refused_or_failing(shown, conn_id, code)) is not None:
        return failed
    return Probe(Status.OK, f"{shown} answers HTTP {code}")


def probe_graphql(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    """POST ``{ __typename }`` to the source's endpoint with the connection's auth: a GraphQL API answers Query."""
    import httpx

    from tenantflow.sources.graphql import describe_errors, endpoint_url

    base_url, auth = hook.base_url_and_auth()
    assert need.source is not None
    url = endpoint_url(base_url, need.source.path)
    shown, conn_id = _without_userinfo(url), need.connection_id
    try:
        with httpx.Client(headers=auth.headers, auth=auth.basic, timeout=timeout, follow_redirects=True) as client:
            response = client.post(url, json={"query": "{ __typename }"})
    except httpx.HTTPError as exc:
        return _unreachable(shown, conn_id, exc)
    code = response.status_code
    if (failed := _refused_or_failing(shown, conn_id, code)) is not None:
        return failed
    try:
        body = response.json()
    except ValueError:
        body = None
    typename = body.get("data", {}).get("__typename") if isinstance(body, dict) and \
        isinstance(body.get("data"), dict) else None
    if typename:
        return Probe(Status.OK, f"{shown} answers a GraphQL query ({{ __typename }} is {typename!r})")
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        detail = f"{shown}: HTTP {code}, {describe_errors(body['errors'])}"
    else:
        detail = f"{shown}: HTTP {code}, not a GraphQL answer ({response.headers.get('Content-Type', 'no type')})"
    return Probe(Status.FAIL, detail, f"check source.path (the GraphQL endpoint, default /graphql) and the base "
                                      f"URL of `{conn_id}`")


def _static_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i in (pattern.find(c) for c in "*?[") if i >= 0), default=len(pattern))
    return pattern[:cut]


def probe_files(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    assert need.location is not None
    if need.location.startswith("s3://"):
        who = f"connection `{need.connection_id}`" if need.connection_id else "the environment's AWS credentials"
        return _probe_s3_files(hook.conn, need.location, who)
    from tenantflow.object_stores import cloud_scheme

    if cloud_scheme(need.location):
        return _probe_cloud_files(hook, need.location, f"connection `{need.connection_id}`")
    return _probe_local_files(need.location)


def _probe_cloud_files(hook: Any, pattern: str, who: str) -> Probe:
    """gs:// / az://: the bucket (container) exists, its prefix is listable, how many objects match."""
    from tenantflow.isolation.guards import TenantIsolationError
    from tenantflow.object_stores import split_uri
    from tenantflow.sources.cloud_files import CloudFilesError

    scheme, bucket, key_pattern = split_uri(pattern)
    where = f"{scheme}://{bucket}/{_static_prefix(key_pattern).rpartition('/')[0]}".rstrip("/") + "/"
    try:
        matching = hook.cloud_hook(pattern).list(pattern)
    except TenantIsolationError as exc:
        return Probe(Status.FAIL, str(exc), "read a bucket or container of the tenant's own")
    except CloudFilesError as exc:
        if "does not exist" in str(exc):
            return Probe(Status.FAIL, str(exc).partition(";")[0],
                         "create it, or fix source.path (or the connection's endpoint_url / account)")
        return Probe(Status.FAIL, str(exc), f"check {who} (credentials, endpoint_url) and source.path")
    except Exception as exc:  # noqa: BLE001 - a connection that cannot be read, an auth library's error
        return Probe(Status.FAIL, f"{where}: {error_text(exc)}", f"check {who} and source.path")
    if not matching:
        return Probe(Status.WARN, f"{where} is listable, but no object matches {pattern} yet",
                     "a run fails with 'no files match' until a file is delivered there")
    return Probe(Status.OK, f"{where} is listable, {len(matching)} object(s) match")


def _probe_local_files(pattern: str) -> Probe:
    prefix = _static_prefix(pattern)
    folder = Path(prefix) if prefix == pattern and os.path.isdir(prefix) else Path(os.path.dirname(prefix) or ".")
    if not folder.is_dir():
        return Probe(Status.FAIL, f"folder {folder} does not exist",
                     "create it, or fix source.path (a relative path is under the tenantflow home)")
    files = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not files:
        return Probe(Status.WARN, f"no file matches {pattern} yet",
                     "a run fails with 'no files match' until a file is delivered there")
    try:
        with open(files[0], "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return Probe(Status.FAIL, f"{files[0]} is not readable: {error_text(exc)}",
                     "make the source files readable by the user Airflow's workers run as")
    return Probe(Status.OK, f"{len(files)} file(s) match {pattern}, readable")


def _probe_s3_files(client: Any, pattern: str, who: str) -> Probe:
    bucket, _, key_pattern = pattern.removeprefix("s3://").partition("/")
    prefix = _static_prefix(key_pattern)
    try:
        client.head_bucket(Bucket=bucket)
        page = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000)
    except client.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            return Probe(Status.FAIL, f"bucket {bucket} does not exist (as seen with {who})",
                         "create the bucket, or fix source.path (or the connection's endpoint_url/region)")
        if code in ("403", "AccessDenied"):
            return Probe(Status.FAIL, f"s3://{bucket}/{prefix}: access denied with {who}",
                         f"allow s3:ListBucket on {bucket} (prefix {prefix!r}) and s3:GetObject under it")
        return Probe(Status.FAIL, f"s3://{bucket}/{prefix}: {error_text(exc)}", f"check {who} and source.path")
    except Exception as exc:  # noqa: BLE001 - botocore's transport errors (endpoint unreachable, timeouts)
        return Probe(Status.FAIL, f"s3://{bucket}: no answer: {error_text(exc)}",
                     f"check the endpoint_url/region of {who}")
    keys = [o["Key"] for o in page.get("Contents", [])]
    matching = [k for k in keys if fnmatch.fnmatch(k, key_pattern)]
    if not matching:
        return Probe(Status.WARN, f"s3://{bucket}/{prefix} is listable, but no object matches {pattern} yet",
                     "a run fails with 'no files match' until a file is delivered there")
    more = "+" if page.get("IsTruncated") else ""
    return Probe(Status.OK, f"s3://{bucket}/{prefix} is listable, {len(matching)}{more} object(s) match")


def probe_databricks(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    host = hook.databricks_conn.host or "(no host)"
    try:
        # the name filter is applied by the workspace: one authenticated GET, whatever the number of jobs
        hook.list_jobs(limit=1, job_name="tenantflow-doctor-probe")
    except Exception as exc:  # noqa: BLE001 - the hook raises AirflowException for every failure
        return Probe(Status.FAIL, f"workspace {host}: jobs/list failed: {error_text(exc)}",
                     f"check the host and token of `{need.connection_id}` (the token's user or service principal "
                     "must be allowed to list and submit job runs)")
    return Probe(Status.OK, f"workspace {host} answers an authenticated GET (jobs/list)")


def probe_pii(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    from tenantflow.pii.secrets import PiiSecretError

    try:
        key = hook.get_conn()
    except PiiSecretError as exc:
        return Probe(Status.FAIL, "the PII key is not usable", str(exc))
    redactor.remember(key)
    return Probe(Status.OK, "PII key present and long enough to hash with (value not shown)")


def probe_catalog_connection(hook: Any, need: Need, timeout: float, redactor: Redactor) -> Probe:
    return Probe(Status.OK, "exists (the catalog check below uses it)")


PROBES: dict[Purpose, Callable[[Any, Need, float, Redactor], Probe]] = {
    "sql": probe_sql,
    "http": probe_http,
    "graphql": probe_graphql,
    "files": probe_files,
    "cdc": probe_cdc,
    "queue": probe_queue,
    "arrivals": probe_queue,
    "databricks": probe_databricks,
    "pii": probe_pii,
    "catalog": probe_catalog_connection,
}
