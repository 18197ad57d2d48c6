"""GCS and Azure Blob access of the landing store: the platform's landing connection as a pyarrow filesystem.

The landing zone is the platform's storage, as on S3 (``landing.s3``): a gs:// landing is written with
the platform's ``google_cloud_platform`` connection ``LANDING_GCP_CONN_ID``, an az:// / abfs:// landing
with its ``wasb`` connection ``LANDING_WASB_CONN_ID``; where that connection does not exist, with the
environment's credentials (gcsfs: metadata server / ``GOOGLE_APPLICATION_CREDENTIALS``; adlfs:
``AZURE_STORAGE_*`` and ``DefaultAzureCredential``). Per-tenant landing identities are issue 17.

Objects are written through fsspec (gcsfs, adlfs) wrapped as a pyarrow filesystem, so the batch layout,
manifest-last publish, integrity checks and retention work unchanged. Imported only when such a
location is touched.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from tenantflow.object_stores import GCS_SCHEMES, connection_type, fsspec_filesystem
from tenantflow.settings import job_environment

if TYPE_CHECKING:
    from pyarrow import fs as pafs

LANDING_GCP_CONN_ID = "google_cloud_default"
LANDING_WASB_CONN_ID = "wasb_default"


def landing_conn_id(scheme: str) -> str:
    return LANDING_GCP_CONN_ID if scheme in GCS_SCHEMES else LANDING_WASB_CONN_ID


class LandingCloudHook(BaseHook):
    """The landing store's GCS or Azure filesystem for one store (one client per process)."""

    hook_name = "tenantflow landing store (GCS / Azure Blob)"

    def __init__(self, scheme: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scheme = scheme
        self.conn_id = landing_conn_id(scheme)

    def _connection(self) -> Any | None:
        from airflow.exceptions import AirflowNotFoundException

        try:
            conn = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            return None  # the environment's credentials, as the S3 landing does without its connection
        expected = connection_type(self.scheme)
        if conn.conn_type and conn.conn_type != expected:
            raise ValueError(f"landing connection {self.conn_id!r} has type {conn.conn_type!r}; "
                             f"a {self.scheme}:// landing needs a {expected!r} connection")
        return conn

    def pyarrow_filesystem(self) -> pafs.FileSystem:
        from pyarrow import fs as pafs

        return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_filesystem(self.scheme, self._connection(), self.conn_id)))


_FILESYSTEMS: dict[tuple[str, str | None], pafs.FileSystem] = {}
_LOCK = threading.Lock()


def landing_cloud_filesystem(scheme: str) -> pafs.FileSystem:
    """The process's landing filesystem for ``scheme`` (a batch touches many objects: one client).

    Keyed on the connection's environment variable too, so a changed connection (tests, a shell) gets a new one.
    """
    conn_id = landing_conn_id(scheme)
    key = ("gs" if scheme in GCS_SCHEMES else "az", job_environment(f"AIRFLOW_CONN_{conn_id.upper()}"))
    with _LOCK:
        fs = _FILESYSTEMS.get(key)
        if fs is None:
            fs = _FILESYSTEMS[key] = LandingCloudHook(scheme).pyarrow_filesystem()
        return fs
