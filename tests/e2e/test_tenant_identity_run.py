"""Each tenant's pipelines run with the tenant's own cloud identity, into its own warehouse, under its own key.

An emulated AWS (a moto server in a process of its own, IAM authorization enforced once set up) where only
the tenants' roles — with the policies `tenantflow iam` generates — may touch their buckets: the workers'
ambient credentials are refused everywhere, so a task that used them instead of ``<tenant>__aws`` (a
``role_arn`` assumed through STS) would fail. Glue is the catalog, landing and warehouse are on S3, every
object must carry the tenant's KMS key.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from cloud_emulators import free_port
from conftest import run_cli
from e2e.helpers import demo_tree, open_table, run_dag
from tenantflow.config.loader import load_all
from yaml_edits import edit

pytestmark = pytest.mark.e2e

TENANTS = {"finance": "finance__orders", "retail": "retail__products"}
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's account


@pytest.fixture(scope="module")
def enforcing_aws():
    """A moto server process (its auth switch is process-wide, so not the session's shared server)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    yield endpoint
    proc.kill()
    proc.wait()


def _client(service: str, endpoint: str, key: tuple[str, str] = ("testing", "testing")):
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key[0],
                        aws_secret_access_key=key[1])


def _tenant_keys(endpoint: str, tenant: str) -> dict:
    """The tenant's KMS key and landing bucket, and the base user its connection signs in with."""
    iam = _client("iam", endpoint)
    user = iam.create_user(UserName=f"{tenant}-base")["User"]
    access = iam.create_access_key(UserName=f"{tenant}-base")["AccessKey"]
    key = _client("kms", endpoint).create_key(Description=f"{tenant} data")["KeyMetadata"]["Arn"]
    _client("s3", endpoint).create_bucket(Bucket=f"acme-{tenant}-landing")
    return {"user": user["Arn"], "key": (access["AccessKeyId"], access["SecretAccessKey"]), "kms": key}


def _tenant_role(endpoint: str, bundle, platform, setup: dict) -> str:
    """The role `tenantflow iam` generates for the tenant, with its generated policy, assumable by its base user."""
    from tenantflow.isolation.iam_policies import AwsAccount, role_policy, tenant_role_name

    account = AwsAccount(account_id=ACCOUNT_ID, region=REGION,
                         platform_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-platform")
    policy = role_policy(bundle, platform, account)
    # moto authorizes KMS and Glue against resource '*' only, so their generated resource-scoped statements
    # never match there (tests/isolation/test_iam_matrix.py): the emulator needs '*' for those two services
    policy["Statement"].append({"Sid": "MotoMatchesKmsAndGlueOnlyOnStar", "Effect": "Allow",
                                "Action": ["kms:*", "glue:*"], "Resource": "*"})
    iam, name = _client("iam", endpoint), tenant_role_name(bundle.tenant.id)
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": setup["user"]},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_user_policy(UserName=f"{bundle.tenant.id}-base", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    iam.put_role_policy(RoleName=name, PolicyName="tenantflow", PolicyDocument=json.dumps(policy))
    return role_arn


def _connection(endpoint: str, tenant: dict) -> str:
    return json.dumps({"conn_type": "aws", "login": tenant["key"][0], "password": tenant["key"][1], "extra": {
        "role_arn": tenant["role_arn"], "region_name": REGION, "endpoint_url": endpoint,
        "service_config": {"sts": {"endpoint_url": endpoint}}}})


@pytest.fixture(scope="module")
def runs(enforcing_aws, tmp_path_factory, airflow_db):
    endpoint = enforcing_aws
    root = tmp_path_factory.mktemp("identity")
    home, env = demo_tree(root)
    configs = root / "tenant_configs"
    edit(configs / "_platform.yaml", '''    type: sql
    properties:
      uri: "sqlite:///{home}/catalog/iceberg_catalog.db"
      warehouse: "file://{home}/warehouse/{tenant}"''', '''    type: glue
    properties:
      warehouse: "s3://acme-lakehouse/{tenant}"''')
    _client("s3", endpoint).create_bucket(Bucket="acme-lakehouse")
    tenants = {t: _tenant_keys(endpoint, t) for t in TENANTS}
    for tenant, setup in tenants.items():
        edit(configs / tenant / "tenant.yaml", f"landing: landing/{tenant}",
             f"landing: s3://acme-{tenant}-landing/raw\n  kms_key_id: {setup['kms']}")
    bundles, failures = load_all(configs)
    assert not failures, failures
    for tenant, setup in tenants.items():
        setup["role_arn"] = _tenant_role(endpoint, bundles[tenant], bundles[tenant].platform, setup)
    iam = _client("iam", endpoint)
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    auditor = iam.create_access_key(UserName="auditor")["AccessKey"]
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AIRFLOW__TENANTFLOW__TENANT_AWS_IDENTITY": "required",
        "AIRFLOW_CONN_FINANCE__ERP": json.dumps({"conn_type": "sqlite",
                                                 "host": str(home / "sources" / "finance" / "erp.db")}),
        **{f"AIRFLOW_CONN_{t.upper()}__AWS": _connection(endpoint, s) for t, s in tenants.items()}})
    run_cli("tenantflow", "sync", env=env)  # the platform creates the Glue databases, before enforcement
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                                  headers={"Content-Type": "text/plain"}))
    # from here on the workers' own credentials ('testing') are refused by the emulated cloud
    results = {t: run_dag(dag_id, "2026-12-01", env=env, check=False) for t, dag_id in TENANTS.items()}
    return endpoint, tenants, (auditor["AccessKeyId"], auditor["SecretAccessKey"]), env, results


def test_ambient_credentials_are_refused_once_enforced(runs):
    from botocore.exceptions import ClientError

    endpoint = runs[0]
    with pytest.raises(ClientError, match="InvalidAccessKeyId|InvalidClientTokenId|AccessDenied"):
        _client("s3", endpoint).list_objects_v2(Bucket="acme-finance-landing")


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_the_pipeline_runs_with_the_tenants_role_into_its_own_encrypted_warehouse(runs, tenant, monkeypatch):
    endpoint, tenants, auditor, env, results = runs
    result = results[tenant]
    assert "state=success" in result.stdout + result.stderr, (result.stdout[-3000:] + result.stderr[-6000:])
    s3 = _client("s3", endpoint, auditor)
    landed = [o["Key"] for o in s3.list_objects_v2(Bucket=f"acme-{tenant}-landing").get("Contents", [])]
    files = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-lakehouse", Prefix=f"{tenant}/").get("Contents", [])]
    assert landed and any(k.endswith(".parquet") for k in files) and any(k.endswith(".metadata.json") for k in files)
    keys = {s3.head_object(Bucket=bucket, Key=k).get("SSEKMSKeyId")
            for bucket, names in ((f"acme-{tenant}-landing", landed), ("acme-lakehouse", files)) for k in names}
    assert keys == {tenants[tenant]["kms"]}, f"every landed object and Iceberg file under {tenant}'s key"
    other = next(t for t in TENANTS if t != tenant)
    assert not [k for k in files if k.startswith(f"{other}/")]

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": auditor[0], "password": auditor[1],
        "extra": {"endpoint_url": endpoint, "region_name": REGION}}))
    monkeypatch.setenv("TENANTFLOW_CONFIG_DIR", env["TENANTFLOW_CONFIG_DIR"])
    from tenantflow.landing import s3 as landing_s3_module

    monkeypatch.setattr(landing_s3_module, "_HOOKS", {})
    table = open_table(f"{tenant}.{TENANTS[tenant].split('__')[1]}", home=env["TENANTFLOW_HOME"])
    assert table.location().startswith(f"s3://acme-lakehouse/{tenant}/")
    assert table.scan().to_arrow().num_rows > 0
