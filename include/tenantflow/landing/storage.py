"""Filesystem access for landing locations (local paths and s3:// URIs) via pyarrow.fs.

Objects are written through pyarrow, except on S3 with a tenant KMS key: pyarrow's S3 filesystem
cannot ask for SSE-KMS, so those writes (and the copies a move makes) go through boto3 with
``ServerSideEncryption=aws:kms`` and the tenant's key id on every request.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyarrow import fs as pafs


def s3_options_from_env() -> dict[str, Any]:
    """S3 client options from the standard AWS variables; AWS_ENDPOINT_URL points at MinIO/moto."""
    options: dict[str, Any] = {"region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return options


def filesystem(uri: str, s3_options: dict[str, Any] | None = None) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or an s3:// URI."""
    from pyarrow import fs as pafs

    if uri.startswith("s3://"):
        options = {**s3_options_from_env(), **(s3_options or {})}
        return pafs.S3FileSystem(**options), uri.removeprefix("s3://")
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def make_dirs(uri: str) -> None:
    """Create a local folder; on S3 nothing (no directory marker objects: keys need no parents)."""
    if not uri.startswith("s3://"):
        fs, path = filesystem(uri)
        fs.create_dir(path, recursive=True)


def remove_dir(uri: str) -> None:
    """Delete a folder/prefix and everything under it; a missing one is fine (retries, S3 without markers)."""
    fs, path = filesystem(uri)
    fs.delete_dir_contents(path, missing_dir_ok=True)
    try:
        fs.delete_dir(path)
    except FileNotFoundError:
        pass


def remove_file(uri: str) -> None:
    """Delete one file/object if it exists; on S3 a plain DeleteObject (pyarrow's delete would leave an
    unencrypted directory marker for the emptied folder)."""
    if uri.startswith("s3://"):
        bucket, key = _bucket_key(uri)
        _s3_client().delete_object(Bucket=bucket, Key=key)
        return
    fs, path = filesystem(uri)
    try:
        fs.delete_file(path)
    except FileNotFoundError:
        pass


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])


def _s3_client() -> object:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return _s3_client_for(endpoint or None, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


@functools.lru_cache(maxsize=8)
def _s3_client_for(endpoint: str | None, region: str) -> object:
    """One boto3 client per endpoint/region: a batch writes and moves many objects."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _sse(kms_key_id: str) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}


def write_bytes(uri: str, data: bytes, kms_key_id: str | None = None) -> None:
    """Write one object/file; on S3 with a KMS key, encrypted with that key (SSE-KMS)."""
    if kms_key_id and uri.startswith("s3://"):
        bucket, key = _bucket_key(uri)
        _s3_client().put_object(Bucket=bucket, Key=key, Body=data, **_sse(kms_key_id))
        return
    fs, path = filesystem(uri)
    with fs.open_output_stream(path) as out:
        out.write(data)


def move(src: str, dst: str, kms_key_id: str | None = None) -> None:
    """Move a file/object; an S3 copy keeps SSE-KMS with the tenant's key (a plain copy would drop it)."""
    if kms_key_id and src.startswith("s3://"):
        client = _s3_client()
        src_bucket, src_key = _bucket_key(src)
        dst_bucket, dst_key = _bucket_key(dst)
        client.copy_object(Bucket=dst_bucket, Key=dst_key, CopySource={"Bucket": src_bucket, "Key": src_key},
                           **_sse(kms_key_id))
        client.delete_object(Bucket=src_bucket, Key=src_key)
        return
    fs, src_path = filesystem(src)
    fs.move(src_path, filesystem(dst)[1])
