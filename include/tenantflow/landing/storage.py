"""Filesystem access for landing locations (local paths, s3://, gs://, az:// and abfs:// URIs) via pyarrow.fs.

S3 credentials, region and endpoint come from the landing store's AWS hook (``landing.s3``, on the
connection ``aws_conn_id``, by default the identity the process acts with (``tenantflow.identity``): the
tenant's ``<tenant>__aws`` in a tenant's task, the platform's ``aws_default`` elsewhere; the environment's
credential chain when that connection does not exist). Objects are written through pyarrow, except on S3 with
a tenant KMS key: pyarrow's S3 filesystem cannot ask for SSE-KMS, so those writes (and the copies a move makes) go
through boto3 with ``ServerSideEncryption=aws:kms`` and the tenant's key id on every request.
GCS and Azure Blob locations go through fsspec (gcsfs, adlfs) with the platform's landing connection
for that store (``landing.cloud``); they use the bucket's or account's own encryption (no per-object key).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tenantflow import identity
from tenantflow.object_stores import cloud_scheme
from tenantflow.settings import job_environment

if TYPE_CHECKING:
    from pyarrow import fs as pafs



def _s3_hook(aws_conn_id: str | None) -> Any:
    from tenantflow.landing.s3 import landing_s3

    return landing_s3(aws_conn_id or identity.aws_conn_id())


def filesystem(
    uri: str, s3_options: dict[str, Any] | None = None, *, aws_conn_id: str | None = None
) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or an s3://, gs://, az:// or abfs:// URI.

    Inside an object store the path is ``bucket/key`` (``container/key`` on Azure): ``uri_in(uri, path)``
    turns a listed path back into a URI.

    On S3 with the landing store's identity (the hook on ``aws_conn_id``), unless ``s3_options`` gives
    another one (e.g. an Iceberg table's FileIO properties): those are used as given, with region and
    endpoint from the AWS variables where they name none.
    """
    from pyarrow import fs as pafs

    if uri.startswith("s3://"):
        if s3_options is None:
            options = _s3_hook(aws_conn_id).options()
        else:
            options = {**_s3_defaults_from_env(), **s3_options}
        return pafs.S3FileSystem(**options), uri.removeprefix("s3://")
    if scheme := cloud_scheme(uri):
        from tenantflow.landing.cloud import landing_cloud_filesystem

        return landing_cloud_filesystem(scheme), uri.removeprefix(f"{scheme}://")
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def in_object_store(uri: str) -> bool:
    """True for s3://, gs://, az:// and abfs:// locations (no directories: keys need no parents)."""
    return uri.startswith("s3://") or cloud_scheme(uri) is not None


def uri_in(location: str, path: str) -> str:
    """The URI of ``path`` (as ``filesystem(location)`` lists it) in the store of ``location``."""
    scheme, sep, _ = location.partition("://")
    return f"{scheme}://{path}" if sep and in_object_store(location) else path


def _s3_defaults_from_env() -> dict[str, Any]:
    options: dict[str, Any] = {"region": job_environment("AWS_DEFAULT_REGION") or "us-east-1"}
    endpoint = job_environment("AWS_ENDPOINT_URL_S3") or job_environment("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return options


def make_dirs(uri: str) -> None:
    """Create a local folder; in an object store nothing (no directory marker objects: keys need no parents)."""
    if not in_object_store(uri):
        fs, path = filesystem(uri)
        fs.create_dir(path, recursive=True)


def remove_dir(uri: str, *, aws_conn_id: str | None = None) -> None:
    """Delete a folder/prefix and everything under it; a missing one is fine (retries, S3 without markers)."""
    fs, path = filesystem(uri, aws_conn_id=aws_conn_id)
    fs.delete_dir_contents(path, missing_dir_ok=True)
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        pass


def remove_file(uri: str, *, aws_conn_id: str | None = None) -> None:
    """Delete one file/object if it exists; on S3 a plain DeleteObject (pyarrow's delete would leave an
    unencrypted directory marker for the emptied folder)."""
    if uri.startswith("s3://"):
        bucket, key = _bucket_key(uri)
        _s3_hook(aws_conn_id).client().delete_object(Bucket=bucket, Key=key)
        return
    fs, path = filesystem(uri)
    try:
        fs.delete_file(path)
    except FileNotFoundError:
        pass


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _sse(kms_key_id: str) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}


def write_bytes(
    uri: str, data: bytes, kms_key_id: str | None = None, *, aws_conn_id: str | None = None
) -> None:
    """Write one object/file; on S3 with a KMS key, encrypted with that key (SSE-KMS)."""
    if kms_key_id and uri.startswith("s3://"):
        bucket, key = _bucket_key(uri)
        _s3_hook(aws_conn_id).client().put_object(Bucket=bucket, Key=key, Body=data, **_sse(kms_key_id))
        return
    fs, path = filesystem(uri, aws_conn_id=aws_conn_id)
    with fs.open_output_stream(path) as out:
        out.write(data)


def move(
    src: str, dst: str, kms_key_id: str | None = None, *, aws_conn_id: str | None = None
) -> None:
    """Move a file/object; an S3 copy keeps SSE-KMS with the tenant's key (a plain copy would drop it)."""
    if kms_key_id and src.startswith("s3://"):
        client = _s3_hook(aws_conn_id).client()
        src_bucket, src_key = _bucket_key(src)
        dst_bucket, dst_key = _bucket_key(dst)
        client.copy_object(Bucket=dst_bucket, Key=dst_key, CopySource={"Bucket": src_bucket, "Key": src_key},
                           **_sse(kms_key_id))
        client.delete_object(Bucket=src_bucket, Key=src_key)
        return
    fs, src_path = filesystem(src, aws_conn_id=aws_conn_id)
    dst_path = filesystem(dst, aws_conn_id=aws_conn_id)[1]
    if cloud_scheme(src) == "gs":
        # copy + delete, as on S3 (a crash between them leaves the staged copy, which publish retries
        # over); gcsfs' own move first tries the objects.moveTo API, retried for ~30 s where it is missing
        fs.copy_file(src_path, dst_path)
        fs.delete_file(src_path)
        return
    fs.move(src_path, dst_path)
