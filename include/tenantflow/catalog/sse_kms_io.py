"""pyiceberg's PyArrow FileIO, writing every S3 object with SSE-KMS under the tenant's key.

pyiceberg's ``s3.server-side-encryption`` / ``s3.sse-kms-key-id`` properties are honoured by its fsspec
FileIO only (s3fs, whose aiobotocore pins a botocore older than the amazon provider's), and pyarrow's S3
filesystem cannot ask for SSE-KMS. So this FileIO reads like PyArrowFileIO and writes an s3:// object
(data files, manifests, manifest lists, table metadata) by spooling it and uploading it with boto3 with
``ServerSideEncryption=aws:kms`` and ``SSEKMSKeyId`` on the request (multipart above 64 MiB; the key
applies to every part). The upload happens on ``close()``: an object is complete or absent, never partial.

Loaded by pyiceberg from the catalog property ``py-io-impl`` (``tenantflow.catalog.warehouse``), i.e. only
in task code, never at DAG parse: the module-level pyiceberg import is allowed here for that reason.
"""

from __future__ import annotations

import io
import tempfile
from typing import Any

from pyiceberg.io import (
    S3_ACCESS_KEY_ID,
    S3_ENDPOINT,
    S3_REGION,
    S3_SECRET_ACCESS_KEY,
    S3_SERVER_SIDE_ENCRYPTION,
    S3_SESSION_TOKEN,
    S3_SSE_KMS_KEY_ID,
)
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

PY_IO_IMPL = "tenantflow.catalog.sse_kms_io.SseKmsFileIO"
SPOOL_BYTES = 64 * 1024 * 1024


class SseKmsFileIO(PyArrowFileIO):
    """PyArrowFileIO whose s3:// outputs are uploaded with SSE-KMS under ``s3.sse-kms-key-id``."""

    def __init__(self, properties: Any = None) -> None:
        super().__init__(properties or {})
        key = self.properties.get(S3_SSE_KMS_KEY_ID)
        if not key:
            raise ValueError(f"{PY_IO_IMPL} needs the property {S3_SSE_KMS_KEY_ID!r} (the tenant's KMS key)")
        self.sse = {"ServerSideEncryption": self.properties.get(S3_SERVER_SIDE_ENCRYPTION, "aws:kms"),
                    "SSEKMSKeyId": key}
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3

            p = self.properties
            self._client = boto3.client(
                "s3", endpoint_url=p.get(S3_ENDPOINT) or None, region_name=p.get(S3_REGION) or None,
                aws_access_key_id=p.get(S3_ACCESS_KEY_ID) or None,
                aws_secret_access_key=p.get(S3_SECRET_ACCESS_KEY) or None,
                aws_session_token=p.get(S3_SESSION_TOKEN) or None)
        return self._client

    def new_output(self, location: str) -> PyArrowFile:
        output = super().new_output(location)
        if not location.startswith(("s3://", "s3a://", "s3n://")):
            return output
        return _EncryptedS3File(output, self)


class _EncryptedS3File(PyArrowFile):
    def __init__(self, plain: PyArrowFile, file_io: SseKmsFileIO) -> None:
        super().__init__(location=plain.location, path=plain._path, fs=plain._filesystem,
                         buffer_size=plain._buffer_size)
        self._io = file_io

    def create(self, overwrite: bool = False) -> _KmsUpload:
        if not overwrite and self.exists():
            raise FileExistsError(f"Cannot create file, already exists: {self.location}")
        bucket, _, key = self._path.partition("/")
        return _KmsUpload(self._io, bucket, key)


class _KmsUpload(io.RawIOBase):
    """A write-only stream that becomes one SSE-KMS object when closed (nothing is uploaded on error)."""

    def __init__(self, file_io: SseKmsFileIO, bucket: str, key: str) -> None:
        super().__init__()
        self._io, self._bucket, self._key = file_io, bucket, key
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed in close()
        self._failed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._spool.write(data)

    def tell(self) -> int:
        return self._spool.tell()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._failed:
                from boto3.s3.transfer import TransferConfig

                self._spool.seek(0)
                self._io.client().upload_fileobj(
                    self._spool, self._bucket, self._key, ExtraArgs=dict(self._io.sse),
                    Config=TransferConfig(multipart_threshold=SPOOL_BYTES, multipart_chunksize=SPOOL_BYTES))
        finally:
            self._spool.close()
            super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._failed = exc_type is not None
        self.close()
