"""Filesystem access for landing locations (local paths and s3:// URIs) via pyarrow.fs."""

from __future__ import annotations

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


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])
