"""Proof by the (emulated) cloud: the documents of `tenantflow iam`, applied to a moto server that enforces IAM,
let each tenant's identity reach its own resources and refuse finance's identity on retail's (and back).

Our Python guards are not involved: boto3 calls the emulator directly with each tenant role's STS credentials.

What moto 5.2.5 enforces (read from moto/core/authorization.py and moto/iam/access_control.py, and probed here):

* Auth is on when ``INITIAL_NO_AUTH_ACTION_COUNT`` (env, or ``POST /moto-api/reset-auth`` with the plain number
  as body, e.g. ``0``) requests have been served; every later request must be signed by an IAM user's or an
  assumed role's access key, and is checked against that identity's inline and attached policies (an explicit
  Deny wins; ``sts:GetCallerIdentity`` is always allowed).
* ``sts:AssumeRole`` also checks the role's trust policy, comparing the caller's ARN literally with the
  ``Principal``: a trusted role ARN does not match its sessions' ``assumed-role`` ARNs, as it does on AWS
  (a probe shows the generated trust refusing a platform-role session), so the matrix trusts a runner user
  instead of the platform role.
* Resources: S3 is authorized per bucket / object ARN, SQS per queue ARN (when the request carries
  ``QueueUrl``: ``GetQueueUrl`` is checked against ``*``), IAM and STS per resource ARN. KMS, Secrets
  Manager, Glue and Kinesis are authorized against the resource ``*`` only, so a resource-scoped Allow never
  matches: the owner is refused as well, and only the refusal across tenants can be shown there.
* Conditions: only ``StringEquals`` is evaluated, with no request context: ``StringLike``, ``Bool``, ``*NotLike``
  … pass, so the ``s3:prefix`` scoping of ListBucket is not exercised.
* Bucket policies are evaluated for object reads, writes and deletes WITHOUT the principal and conditions: a
  "deny all but the tenant and the platform" policy (and the deny of plain HTTP) denies everyone, so the
  matrix runs without them (a probe applies one and records that the owner is refused too).
* KMS key policies are stored but never evaluated (a probe shows an identity the key policy leaves out
  encrypting with the key).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO
from isolation.aws_tenants import ACCOUNT_ID, PLATFORM_ROLE, REGION, aws_tenants
from tenantflow.config.loader import load_all
from tenantflow.isolation.iam_policies import AwsAccount, documents

TENANTS = ("finance", "retail")
ARTIFACT = REPO / "test-artifacts" / "isolation" / "iam_matrix.md"
# cells moto decides by the resource (own allowed, other refused); the rest it refuses for everyone (see above)
DECIDED_BY_RESOURCE = {"s3:PutObject landing", "s3:GetObject landing", "s3:ListBucket landing",
                       "s3:GetObject warehouse", "s3:PutObject warehouse", "s3:GetObject source",
                       "sqs:ReceiveMessage", "sts:AssumeRole"}


@dataclass(frozen=True)
class Cell:
    call: str
    caller: str
    owner: str
    outcome: str  # allowed | refused | error: <code>


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def iam_moto() -> Iterator[str]:
    """A moto server of its own (IAM auth is process-wide state), auth off until the test turns it on."""
    import requests

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _client(url: str, service: str, creds: dict[str, str]):
    return _cached_client(url, service, tuple(sorted(creds.items())))


@functools.cache
def _cached_client(url: str, service: str, creds: tuple[tuple[str, str], ...]):
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=REGION, **dict(creds))


def _denied(exc: Exception) -> str | None:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return None
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code if code in ("AccessDenied", "AccessDeniedException", "403") or status == 403 else None


def _try(call: Callable[[], object]) -> str:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - classified: a refusal, or an error that fails the test
        return "refused" if _denied(exc) else f"error: {type(exc).__name__} {str(exc)[:160]}"
    return "allowed"


def _setup(url: str, tree: Path) -> dict[str, dict]:
    """Resources of both tenants (auth off), the tenant roles with their generated policies; returns ids."""
    admin_keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    kms, s3, sqs = (_client(url, s, admin_keys) for s in ("kms", "s3", "sqs"))
    world: dict[str, dict] = {}
    for tenant in TENANTS:
        key = kms.create_key(Description=f"{tenant} landing")["KeyMetadata"]["Arn"]
        for bucket in (f"acme-{tenant}-landing", f"acme-{tenant}-drop"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        queues = {name: sqs.create_queue(QueueName=f"{tenant}-{name}")["QueueUrl"]
                  for name in ("payment-events", "arrivals")}
        for queue in queues.values():
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"event_id": tenant}))
        world[tenant] = {"key": key, "queues": queues}
    s3.create_bucket(Bucket="acme-lakehouse", CreateBucketConfiguration={"LocationConstraint": REGION})
    for tenant in TENANTS:
        s3.put_object(Bucket=f"acme-{tenant}-landing", Key="raw/seed.json", Body=b"{}")
        s3.put_object(Bucket=f"acme-{tenant}-drop", Key="partner/seed.csv", Body=b"a\n1\n")
        s3.put_object(Bucket="acme-lakehouse", Key=f"{tenant}/seed.parquet", Body=b"PAR1")
        _client(url, "secretsmanager", admin_keys).create_secret(
            Name=f"airflow/connections/{tenant}__aws", SecretString='{"conn_type": "aws"}')
        _client(url, "glue", admin_keys).create_database(DatabaseInput={"Name": tenant})
        _client(url, "kinesis", admin_keys).create_stream(StreamName=f"{tenant}-ticks", ShardCount=1)

    configs = aws_tenants(tree, finance_key=world["finance"]["key"], retail_key=world["retail"]["key"])
    bundles, failures = load_all(configs)
    assert not failures, {t: str(e) for t, e in failures.items()}
    account = AwsAccount(account_id=ACCOUNT_ID, region=REGION, platform_role_arn=PLATFORM_ROLE)
    docs = documents({t: bundles[t] for t in TENANTS}, bundles["finance"].platform, account)

    iam = _client(url, "iam", admin_keys)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    world["admin"] = _keys(iam.create_access_key(UserName="admin"))
    for tenant in TENANTS:
        runner = f"{tenant}-runner"  # stands in for the platform role: moto matches trust principals literally
        user_arn = iam.create_user(UserName=runner)["User"]["Arn"]
        iam.put_user_policy(UserName=runner, PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-*"}]}))
        trust = json.loads(json.dumps(docs[f"role_trust:tenantflow-{tenant}"]).replace(PLATFORM_ROLE, user_arn))
        iam.create_role(RoleName=f"tenantflow-{tenant}", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=f"tenantflow-{tenant}", PolicyName="tenantflow-tenant-access",
                            PolicyDocument=json.dumps(docs[f"role_policy:tenantflow-{tenant}"]))
        world[tenant]["runner"] = _keys(iam.create_access_key(UserName=runner))
    world["docs"] = docs
    return world


def _keys(response: dict) -> dict[str, str]:
    key = response["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _assume(url: str, runner: dict[str, str], tenant: str) -> dict[str, str]:
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-{tenant}"
    creds = _client(url, "sts", runner).assume_role(RoleArn=role, RoleSessionName=f"{tenant}-matrix")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def _calls(url: str, creds: dict[str, str], owner: str, world: dict) -> dict[str, Callable[[], object]]:
    """Everything a tenant's pipelines do, aimed at ``owner``'s resources."""
    s3 = _client(url, "s3", creds)
    sqs = _client(url, "sqs", creds)
    landing, key = f"acme-{owner}-landing", world[owner]["key"]
    return {
        "s3:PutObject landing": lambda: s3.put_object(Bucket=landing, Key="raw/p/run=1/_manifest.json", Body=b"{}",
                                                      ServerSideEncryption="aws:kms", SSEKMSKeyId=key),
        "s3:GetObject landing": lambda: s3.get_object(Bucket=landing, Key="raw/seed.json"),
        "s3:ListBucket landing": lambda: s3.list_objects_v2(Bucket=landing, Prefix="raw/"),
        "s3:GetObject warehouse": lambda: s3.get_object(Bucket="acme-lakehouse", Key=f"{owner}/seed.parquet"),
        "s3:PutObject warehouse": lambda: s3.put_object(Bucket="acme-lakehouse", Key=f"{owner}/t/data/1.parquet",
                                                        Body=b"PAR1"),
        "s3:GetObject source": lambda: s3.get_object(Bucket=f"acme-{owner}-drop", Key="partner/seed.csv"),
        "kms:Encrypt": lambda: _client(url, "kms", creds).encrypt(KeyId=key, Plaintext=b"x"),
        "secretsmanager:GetSecretValue": lambda: _client(url, "secretsmanager", creds).get_secret_value(
            SecretId=f"airflow/connections/{owner}__aws"),
        "sqs:ReceiveMessage": lambda: sqs.receive_message(QueueUrl=world[owner]["queues"]["arrivals"],
                                                          VisibilityTimeout=0),
        "sqs:GetQueueUrl": lambda: sqs.get_queue_url(QueueName=f"{owner}-payment-events"),
        "kinesis:DescribeStreamSummary": lambda: _client(url, "kinesis", creds).describe_stream_summary(
            StreamName=f"{owner}-ticks"),
        "glue:GetDatabase": lambda: _client(url, "glue", creds).get_database(Name=owner),
    }


def test_each_tenant_identity_reaches_its_own_resources_and_is_refused_the_others(iam_moto, config_tree):
    import requests

    url = iam_moto
    world = _setup(url, config_tree)
    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()  # enforce from now on

    cells: list[Cell] = []
    for caller in TENANTS:
        creds = _assume(url, world[caller]["runner"], caller)
        for owner in TENANTS:
            for call, run in _calls(url, creds, owner, world).items():
                cells.append(Cell(call, caller, owner, _try(run)))
        other = next(t for t in TENANTS if t != caller)
        runner = world[caller]["runner"]
        cells.append(Cell("sts:AssumeRole", caller, caller, "allowed"))  # done above, or nothing ran
        cells.append(Cell("sts:AssumeRole", caller, other, _try(functools.partial(_assume, url, runner, other))))
    for call, run in _calls(url, world["admin"], "finance", world).items():  # control: an Allow on "*" passes
        cells.append(Cell(call, "admin", "finance", _try(run)))
    probes = _probes(url, world)

    errors = [c for c in cells if c.outcome.startswith("error")]
    assert not errors, errors
    cross = [c for c in cells if c.caller in TENANTS and c.caller != c.owner]
    own = [c for c in cells if c.caller in TENANTS and c.caller == c.owner]
    leaks = [c for c in cross if c.outcome != "refused"]
    decided = {c.call for c in own if c.outcome == "allowed"}
    by_resource = sum(c.call in decided and c.outcome == "refused" for c in cross)
    figure = (f"iam matrix: {len(cross)} cross-tenant calls tried, {len(cross) - len(leaks)} refused "
              f"({by_resource} decided by the resource, {len(cross) - len(leaks) - by_resource} refused by moto "
              f"for everyone); {sum(c.outcome == 'allowed' for c in own)} of {len(own)} own calls allowed")
    _write(cells, figure, probes)
    print(figure)
    assert not leaks, f"the emulated cloud let a tenant reach another's resource: {leaks}"
    assert all(c.outcome == "allowed" for c in cells if c.caller == "admin"), "control: the Allow on '*' is refused"
    assert decided == DECIDED_BY_RESOURCE, (
        f"moto now decides {sorted(decided ^ DECIDED_BY_RESOURCE)} differently: update DECIDED_BY_RESOURCE, the "
        "docstring and the README's Isolation section")
    assert probes == {"bucket policy refuses its own tenant": True, "KMS key policy ignored": True,
                      "trusted role's sessions refused": True}, "moto's resource policies changed: see the docstring"


def _probes(url: str, world: dict) -> dict[str, bool]:
    """What moto does with the resource policies (see the module docstring)."""
    admin = world["admin"]
    s3 = _client(url, "s3", admin)
    policy = world["docs"]["bucket_policy:acme-finance-landing"]
    s3.put_bucket_policy(Bucket="acme-finance-landing", Policy=json.dumps(policy))
    finance = _client(url, "s3", _assume(url, world["finance"]["runner"], "finance"))
    refused = _try(lambda: finance.get_object(Bucket="acme-finance-landing", Key="raw/seed.json")) == "refused"
    s3.delete_bucket_policy(Bucket="acme-finance-landing")
    kms = _client(url, "kms", admin)
    key = world["finance"]["key"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(world["docs"][f"kms_key_policy:{key}"]))
    ignored = _try(lambda: kms.encrypt(KeyId=key, Plaintext=b"x")) == "allowed"  # admin is not in the key policy
    # the generated trust (Principal: the platform role) on a role of its own, assumed from a platform session
    iam = _client(url, "iam", admin)
    iam.create_role(RoleName="tenantflow-platform", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
            "AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/finance-runner"}}]}))
    iam.put_role_policy(RoleName="tenantflow-platform", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-*"}]}))
    iam.create_role(RoleName="tenantflow-trusting-platform",
                    AssumeRolePolicyDocument=json.dumps(world["docs"]["role_trust:tenantflow-finance"]))
    platform = _assume(url, world["finance"]["runner"], "platform")
    sessions = _try(functools.partial(_assume, url, platform, "trusting-platform")) == "refused"
    return {"bucket policy refuses its own tenant": refused, "KMS key policy ignored": ignored,
            "trusted role's sessions refused": sessions}


def _write(cells: list[Cell], figure: str, probes: dict[str, bool]) -> None:
    calls = sorted({c.call for c in cells})
    columns = [(caller, owner) for caller in TENANTS for owner in TENANTS] + [("admin", "finance")]
    outcome = {(c.call, c.caller, c.owner): c.outcome for c in cells}
    lines = [f"# {figure}", "", "| call | " + " | ".join(f"{a} → {o}" for a, o in columns)
             + " | decided by moto's resource matching |", "|---" * (len(columns) + 2) + "|"]
    for call in calls:
        own = {outcome.get((call, t, t)) for t in TENANTS}
        lines.append(f"| {call} | " + " | ".join(outcome.get((call, a, o), "-") for a, o in columns)
                     + f" | {'yes' if own == {'allowed'} else 'no (refused for everyone)'} |")
    lines += ["", *(f"* probe: {name}: {'yes' if seen else 'no'}" for name, seen in probes.items())]
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text("\n".join(lines) + "\n", encoding="utf-8")
