"""GCS and Azure Blob filesystems (fsspec: gcsfs, adlfs) from an Airflow connection, and their URIs.

Shared by the files sources (the tenant's own connection, ``sources.cloud_files``) and the landing
store (``landing.cloud``): one reading of a ``google_cloud_platform`` or ``wasb`` connection.
gcsfs and adlfs are imported inside the functions only: DAG parsing never loads them.

* GCS (``gs://``): extra ``keyfile_dict`` (the service account's JSON) or ``key_path`` (a file on the
  workers), ``project``; ``token: anon`` for anonymous access and ``endpoint_url`` for an emulator.
  Without credentials gcsfs uses the environment's (metadata server, ``GOOGLE_APPLICATION_CREDENTIALS``).
* Azure (``az://``, ``abfs://``): login = storage account name, password = account key, or extra
  ``connection_string`` (or ``sas_token``); extra ``endpoint_url`` is the blob endpoint (azurite:
  ``http://127.0.0.1:10000/devstoreaccount1``). Without a key, ``DefaultAzureCredential``.
"""

from __future__ import annotations

import json
from typing import Any

GCS_SCHEMES = ("gs",)
AZURE_SCHEMES = ("az", "abfs")
CLOUD_SCHEMES = GCS_SCHEMES + AZURE_SCHEMES


class ObjectStoreConnectionError(ValueError):
    """A connection cannot open its store; the message names the connection and what to set."""


def cloud_scheme(uri: str) -> str | None:
    """'gs', 'az' or 'abfs' for a GCS/Azure object URI, else None (local paths, s3://)."""
    scheme, sep, _ = uri.partition("://")
    return scheme if sep and scheme in CLOUD_SCHEMES else None


def split_uri(uri: str) -> tuple[str, str, str]:
    """(scheme, bucket or container, key) of ``gs://bucket/key`` or ``az://container/key``."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    return scheme, bucket, key


def connection_type(scheme: str) -> str:
    """The Airflow connection type a store's URIs are opened with."""
    return "google_cloud_platform" if scheme in GCS_SCHEMES else "wasb"


def connection_extra(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson or {}
    # Airflow's older form prefixes every extra with the connection type
    return {k.removeprefix("extra__google_cloud_platform__").removeprefix("extra__wasb__"): v
            for k, v in extra.items()}


def gcs_filesystem(conn: Any | None) -> Any:
    """A gcsfs filesystem with the connection's credentials (``None``: the environment's)."""
    # gcsfs' default class (ExtendedGcsFileSystem) first asks the gRPC control plane for the bucket's
    # layout (zonal / hierarchical), which an emulator lacks (60 s timeouts); the JSON-API core
    # filesystem lists and reads every bucket type
    from gcsfs.core import GCSFileSystem

    extra = connection_extra(conn) if conn is not None else {}
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
    # no listings cache: a run must see the objects written since this worker last looked
    return GCSFileSystem(**{k: v for k, v in options.items() if v is not None}, skip_instance_cache=True,
                         use_listings_cache=False)


def azure_filesystem(conn: Any | None, conn_id: str | None) -> Any:
    """An adlfs filesystem with the connection's account and key (``None``: adlfs reads the
    ``AZURE_STORAGE_*`` environment and ``DefaultAzureCredential``)."""
    import adlfs

    if conn is None:
        return adlfs.AzureBlobFileSystem(skip_instance_cache=True, use_listings_cache=False)
    extra = connection_extra(conn)
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
        raise ObjectStoreConnectionError(f"connection {conn_id!r} names no storage account: set its login "
                                         "(account name) and password (account key), or extra connection_string")
    return adlfs.AzureBlobFileSystem(**options, skip_instance_cache=True, use_listings_cache=False)


def fsspec_filesystem(scheme: str, conn: Any | None, conn_id: str | None) -> Any:
    return gcs_filesystem(conn) if scheme in GCS_SCHEMES else azure_filesystem(conn, conn_id)
