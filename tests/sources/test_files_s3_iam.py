"""A tenant's `aws` connection with `role_arn`, against a moto server that enforces IAM.

The tenant's own keys may only assume the role; only the role may read the bucket. So reading
works only if the file source really uses the assumed role's temporary credentials (with their
session token), as AwsBaseHook resolves them from the connection.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pyarrow as pa
import pytest

from tenantflow.config.models import FilesSource
from tenantflow.sources.files import FilesSourceHook, SourceFileError

BUCKET = "acme-retail-secured"
ROLE = "retail-drops-reader"


@pytest.fixture(scope="module")
def iam_moto():
    """A moto server of its own (IAM enforcement is process-wide in moto): set up openly, then enforced."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", f"from moto.server import main; main(['-H', '127.0.0.1', '-p', '{port}'])"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint, _setup(endpoint)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _setup(endpoint: str) -> dict[str, str]:
    import boto3

    def client(service):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")

    iam = client("iam")
    iam.create_user(UserName="retail-etl")
    keys = iam.create_access_key(UserName="retail-etl")["AccessKey"]
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                 "Principal": {"AWS": "arn:aws:iam::123456789012:user/retail-etl"}}]}),
    )["Role"]["Arn"]
    iam.put_user_policy(UserName="retail-etl", PolicyName="assume-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    iam.put_role_policy(RoleName=ROLE, PolicyName="read-drops", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                                                 "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}))
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="sales/2026-12-01.csv", Body=b"sale_id,qty\n1,2\n2,5\n")
    # from now on every request is authenticated and authorised
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                                  headers={"Content-Type": "text/plain"}))
    return {"login": keys["AccessKeyId"], "password": keys["SecretAccessKey"], "role_arn": role_arn}


def _hook(monkeypatch, endpoint: str, keys: dict[str, str], conn_id: str, **extra) -> FilesSourceHook:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "aws", "login": keys["login"], "password": keys["password"],
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1", **extra}}))
    return FilesSourceHook(tenant_id="retail", connection_id=conn_id)


def test_the_tenants_keys_alone_may_not_read_the_bucket(iam_moto, monkeypatch):
    endpoint, keys = iam_moto
    hook = _hook(monkeypatch, endpoint, keys, "retail__keys_only")
    with pytest.raises(SourceFileError, match=rf"cannot list 's3://{BUCKET}/sales/\*.csv'.*Access Denied"):
        hook.list(f"s3://{BUCKET}/sales/*.csv")


def test_role_arn_reads_with_the_assumed_roles_session_credentials(iam_moto, monkeypatch):
    endpoint, keys = iam_moto
    hook = _hook(monkeypatch, endpoint, keys, "retail__drops_reader", role_arn=keys["role_arn"],
                 service_config={"sts": {"endpoint_url": endpoint}})
    assert hook.s3_options["session_token"] and hook.s3_options["access_key"] != keys["login"]
    source = FilesSource(kind="files", path=f"s3://{BUCKET}/sales/*.csv", format="csv",
                         connection_id="retail__drops_reader")
    files = hook.list(source.path)
    assert files == [f"s3://{BUCKET}/sales/2026-12-01.csv"]
    table = pa.concat_tables(list(hook.read(source.path, source, files)))
    assert table.to_pydict() == {"sale_id": [1, 2], "qty": [2, 5]}


def test_without_its_session_token_the_roles_keys_are_refused(iam_moto, monkeypatch):
    """The session token is what makes the temporary keys valid: dropping it is refused."""
    from pyarrow import fs as pafs

    endpoint, keys = iam_moto
    hook = _hook(monkeypatch, endpoint, keys, "retail__drops_reader2", role_arn=keys["role_arn"],
                 service_config={"sts": {"endpoint_url": endpoint}})
    options = {k: v for k, v in hook.s3_options.items() if k != "session_token"}
    with pytest.raises(OSError):
        pafs.S3FileSystem(**options).get_file_info(pafs.FileSelector(f"{BUCKET}/sales", recursive=True))
    assert os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT") is None, "enforcement stays in the test's own server"
