"""Files sources on Google Cloud Storage (``gs://``) and Azure Blob Storage (``az://``, ``abfs://``).

One thin hook per store turns the tenant's own connection into an fsspec filesystem (gcsfs, adlfs);
``files.FilesSourceHook`` lists through it and reads through pyarrow's wrapper of it, so formats,
compression, bad rows and the loaded-files state work exactly as for local and S3 paths. gcsfs and
adlfs are imported inside functions only: DAG parsing never loads them.

* GCS: a ``google_cloud_platform`` connection; extra ``keyfile_dict`` (the service account's JSON) or
  ``key_path`` (a file on the workers), ``project``; ``token: anon`` for anonymous access and
  ``endpoint_url`` for an emulator. Without credentials gcsfs uses the environment's (metadata server,
  ``GOOGLE_APPLICATION_CREDENTIALS``).
* Azure: a ``wasb`` connection; login = storage account name, password = account key, or extra
  ``connection_string`` (or ``sas_token``); extra ``endpoint_url`` is the blob endpoint (azurite:
  ``http://127.0.0.1:10000/devstoreaccount1``).
"""

from __future__ import annotations

import fnmatch
import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.isolation.guards import require_own_connection, require_own_location
from tenantflow.sources.file_formats import SourceFileError

if TYPE_CHECKING:
    from pyarrow import fs as pafs

GCS_SCHEMES = ("gs",)
AZURE_SCHEMES = ("az", "abfs")
CLOUD_SCHEMES = GCS_SCHEMES + AZURE_SCHEMES


class CloudFilesError(SourceFileError):
    """A bucket or container cannot be listed; the message names it and the connection."""


def cloud_scheme(uri: str) -> str | None:
    """'gs', 'az' or 'abfs' for a cloud object URI, else None (local paths, s3://)."""
    scheme, sep, _ = uri.partition("://")
    return scheme if sep and scheme in CLOUD_SCHEMES else None


def split_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket or container, key) of ``gs://bucket/key`` or ``az://container/key``."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    return scheme, bucket, key


def _extra(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson or {}
    # Airflow's older form prefixes every extra with the connection type
    return {k.removeprefix("extra__google_cloud_platform__").removeprefix("extra__wasb__"): v
            for k, v in extra.items()}


class _CloudFilesHook(BaseHook):
    conn_name_attr = "connection_id"
    conn_type = ""
    store = ""
    container_word = "bucket"

    def __init__(self, *, tenant_id: str, connection_id: str | None, **kwargs: Any) -> None:
        if connection_id is None:
            raise CloudFilesError(f"{self.store} paths are read through the tenant's own connection: "
                                  f"set source.connection_id to '{tenant_id}__<name>'")
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(**kwargs)
        self.tenant_id = tenant_id
        self.connection_id = connection_id

    @cached_property
    def fsspec(self) -> Any:
        conn = self.get_connection(self.connection_id)
        if conn.conn_type and self.conn_type and conn.conn_type != self.conn_type:
            raise CloudFilesError(f"connection {self.connection_id!r} has type {conn.conn_type!r}; "
                                  f"{self.store} paths need a {self.conn_type!r} connection")
        return self._filesystem(conn)

    def _filesystem(self, conn: Any) -> Any:
        raise NotImplementedError

    def pyarrow_filesystem(self) -> pafs.FileSystem:
        """The fsspec filesystem as a pyarrow one: what the format readers open files with."""
        from pyarrow import fs as pafs

        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fsspec))

    def list(self, pattern: str) -> list[str]:
        """Objects matching ``pattern`` as full URIs (the file identity of the load state), sorted."""
        require_own_location(self.tenant_id, pattern)  # before the bucket is asked anything
        scheme, bucket, key_pattern = split_uri(pattern)
        who = f"connection {self.connection_id!r}"
        fs = self.fsspec
        prefix = key_pattern.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0].rsplit("/", 1)[0]
        try:
            if not fs.exists(bucket):
                raise CloudFilesError(f"{self.store} {self.container_word} {bucket!r} does not exist (as seen with "
                                      f"{who}); create it, or fix source.path")
            found = fs.find(f"{bucket}/{prefix}" if prefix else bucket, detail=False)
        except CloudFilesError:
            raise
        except Exception as exc:  # noqa: BLE001 - gcsfs/adlfs/azure errors of every kind: name the place
            raise CloudFilesError(f"cannot list {pattern!r} with {who}: {type(exc).__name__}: {exc}") from exc
        path_pattern = f"{bucket}/{key_pattern}"
        return sorted(f"{scheme}://{p}" for p in found if fnmatch.fnmatch(p, path_pattern) and not p.endswith("/"))


class GCSFilesHook(_CloudFilesHook):
    """gs:// sources on the tenant's ``google_cloud_platform`` connection."""

    conn_type = "google_cloud_platform"
    hook_name = "tenantflow GCS file source"
    store = "GCS"

    def _filesystem(self, conn: Any) -> Any:
        # gcsfs' default class (ExtendedGcsFileSystem) first asks the gRPC control plane for the bucket's
        # layout (zonal / hierarchical), which an emulator lacks (60 s timeouts); the JSON-API core
        # filesystem lists and reads every bucket type
        from gcsfs.core import GCSFileSystem

        extra = _extra(conn)
        token: Any = None
        if keyfile := extra.get("keyfile_dict"):
            token = json.loads(keyfile) if isinstance(keyfile, str) else keyfile
        elif extra.get("key_path"):
            token = extra["key_path"]
        elif extra.get("token"):
            token = extra["token"]  # "anon" (public buckets, emulators), "google_default", "cloud"
        options: dict[str, Any] = {"token": token, "project": extra.get("project") or extra.get("project_id")}
        if extra.get("endpoint_url"):
            options["endpoint_url"] = extra["endpoint_url"]
        # no listings cache: a run must see the objects delivered since the last run of this worker
        return GCSFileSystem(**{k: v for k, v in options.items() if v is not None}, skip_instance_cache=True,
                                   use_listings_cache=False)


class AzureFilesHook(_CloudFilesHook):
    """az:// and abfs:// sources on the tenant's ``wasb`` connection."""

    conn_type = "wasb"
    hook_name = "tenantflow Azure Blob file source"
    store = "Azure Blob"
    container_word = "container"

    def _filesystem(self, conn: Any) -> Any:
        import adlfs

        extra = _extra(conn)
        options: dict[str, Any] = {}
        if extra.get("connection_string"):
            options["connection_string"] = extra["connection_string"]
        elif extra.get("endpoint_url") and conn.login and conn.password:
            endpoint = str(extra["endpoint_url"]).rstrip("/")
            protocol = endpoint.partition("://")[0] or "https"
            options["connection_string"] = (f"DefaultEndpointsProtocol={protocol};AccountName={conn.login};"
                                            f"AccountKey={conn.password};BlobEndpoint={endpoint};")
        else:
            options["account_name"] = conn.login or extra.get("account_name")
            if conn.password:
                options["account_key"] = conn.password
            elif extra.get("sas_token"):
                options["sas_token"] = extra["sas_token"]
            else:
                options["anon"] = False  # DefaultAzureCredential: managed identity, workload identity, env
        if not options.get("connection_string") and not options.get("account_name"):
            raise CloudFilesError(f"connection {self.connection_id!r} names no storage account: set its login "
                                  "(account name) and password (account key), or extra connection_string")
        return adlfs.AzureBlobFileSystem(**options, skip_instance_cache=True)


def cloud_files_hook(uri: str, tenant_id: str, connection_id: str | None) -> _CloudFilesHook:
    scheme = cloud_scheme(uri)
    if scheme in GCS_SCHEMES:
        return GCSFilesHook(tenant_id=tenant_id, connection_id=connection_id)
    if scheme in AZURE_SCHEMES:
        return AzureFilesHook(tenant_id=tenant_id, connection_id=connection_id)
    raise ValueError(f"{uri!r} is not a gs://, az:// or abfs:// URI")
