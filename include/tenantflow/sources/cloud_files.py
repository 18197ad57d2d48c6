"""Files sources on Google Cloud Storage (``gs://``) and Azure Blob Storage (``az://``, ``abfs://``).

One thin hook per store turns the tenant's own connection into an fsspec filesystem (gcsfs, adlfs;
how a connection is read: ``tenantflow.object_stores``); ``files.FilesSourceHook`` lists through it
and reads through pyarrow's wrapper of it, so formats, compression, bad rows and the loaded-files
state work exactly as for local and S3 paths.
"""

from __future__ import annotations

import fnmatch
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.isolation.guards import require_own_connection, require_own_location
from tenantflow.object_stores import (
    AZURE_SCHEMES,
    GCS_SCHEMES,
    ObjectStoreConnectionError,
    azure_filesystem,
    cloud_scheme,
    gcs_filesystem,
    split_uri,
)
from tenantflow.sources.file_formats import SourceFileError

if TYPE_CHECKING:
    from pyarrow import fs as pafs


class CloudFilesError(SourceFileError):
    """A bucket or container cannot be listed; the message names it and the connection."""


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
        return gcs_filesystem(conn)


class AzureFilesHook(_CloudFilesHook):
    """az:// and abfs:// sources on the tenant's ``wasb`` connection."""

    conn_type = "wasb"
    hook_name = "tenantflow Azure Blob file source"
    store = "Azure Blob"
    container_word = "container"

    def _filesystem(self, conn: Any) -> Any:
        try:
            return azure_filesystem(conn, self.connection_id)
        except ObjectStoreConnectionError as exc:
            raise CloudFilesError(str(exc)) from exc


def cloud_files_hook(uri: str, tenant_id: str, connection_id: str | None) -> _CloudFilesHook:
    scheme = cloud_scheme(uri)
    if scheme in GCS_SCHEMES:
        return GCSFilesHook(tenant_id=tenant_id, connection_id=connection_id)
    if scheme in AZURE_SCHEMES:
        return AzureFilesHook(tenant_id=tenant_id, connection_id=connection_id)
    raise ValueError(f"{uri!r} is not a gs://, az:// or abfs:// URI")
