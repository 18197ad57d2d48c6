"""`tenantflow iam`: each tenant's AWS documents name its own resources and nobody else's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from isolation.aws_tenants import ACCOUNT_ID, FINANCE_KEY, PLATFORM_ROLE, REGION, aws_tenants
from tenantflow.config.loader import load_all
from tenantflow.isolation.iam_policies import AwsAccount, as_json, documents, tenant_documents
from tenantflow.isolation.iam_terraform import as_terraform
from yaml_edits import edit

ACCOUNT = AwsAccount(account_id=ACCOUNT_ID, region=REGION, platform_role_arn=PLATFORM_ROLE)
FINANCE_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-finance"
RETAIL_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-retail"
CLI_ACCOUNT = ("--account-id", ACCOUNT_ID, "--region", REGION, "--platform-role", PLATFORM_ROLE)


def load(configs: Path):
    bundles, failures = load_all(configs)
    assert not failures, {t: str(e) for t, e in failures.items()}
    return bundles, next(iter(bundles.values())).platform


def statements(doc: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in doc["Statement"]}


def resources(doc: dict) -> set[str]:
    return {r for s in doc["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}


@pytest.fixture
def aws_tree(config_tree: Path) -> Path:
    return aws_tenants(config_tree)


def test_demo_tenants_on_local_storage_get_only_their_connection_secrets(repo):
    bundles, platform = load(repo / "tenant_configs")
    docs = tenant_documents(bundles["finance"], platform, ACCOUNT)
    assert sorted(docs) == ["role_policy:tenantflow-finance", "role_trust:tenantflow-finance"]
    policy = docs["role_policy:tenantflow-finance"]
    assert resources(policy) == {
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:airflow/connections/finance__*"}
    trust = statements(docs["role_trust:tenantflow-finance"])["PlatformAssumes"]
    assert trust["Principal"] == {"AWS": PLATFORM_ROLE} and trust["Action"] == ["sts:AssumeRole"]
    # healthcare's file-arrival pipeline: its drop bucket (read only, under results/) and its queue
    health = tenant_documents(bundles["healthcare"], platform, ACCOUNT)["role_policy:tenantflow-healthcare"]
    sids = statements(health)
    assert sids["SourceAcmeHealthcareLabDropRead"]["Action"] == ["s3:GetObject"]
    assert sids["SourceAcmeHealthcareLabDropRead"]["Resource"] == ["arn:aws:s3:::acme-healthcare-lab-drop/results/*"]
    assert sids["SourceAcmeHealthcareLabDropList"]["Condition"] == {
        "StringLike": {"s3:prefix": ["results", "results/*"]}}
    assert sids["QueuesConsume"]["Resource"] == [f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:healthcare-lab-arrivals"]


def test_finance_role_policy_names_only_finance_resources(aws_tree):
    bundles, platform = load(aws_tree)
    docs = tenant_documents(bundles["finance"], platform, ACCOUNT, shared_buckets={"acme-lakehouse"})
    policy = docs["role_policy:tenantflow-finance"]
    assert resources(policy) == {
        "arn:aws:s3:::acme-finance-landing", "arn:aws:s3:::acme-finance-landing/raw/*",
        "arn:aws:s3:::acme-lakehouse", "arn:aws:s3:::acme-lakehouse/finance/*",
        "arn:aws:s3:::acme-finance-drop", "arn:aws:s3:::acme-finance-drop/partner/*",
        FINANCE_KEY,
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:airflow/connections/finance__*",
        f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:finance-arrivals",
        f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:finance-payment-events",
        f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/finance-ticks",
        f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:catalog", f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:database/finance",
        f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:table/finance/*",
    }
    sids = statements(policy)
    assert sids["LandingObjects"]["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert sids["LandingList"]["Condition"] == {"StringLike": {"s3:prefix": ["raw", "raw/*"]}}
    assert sids["SourceAcmeFinanceDropRead"]["Action"] == ["s3:GetObject"]  # a source is read, never written
    assert "kms:GenerateDataKey*" in sids["KmsKeyUse"]["Action"]
    assert "sqs:SendMessage" not in sids["QueuesConsume"]["Action"]
    assert "glue:CreateDatabase" not in sids["GlueNamespace"]["Action"]  # namespaces are the platform's
    text = as_json(docs)
    assert "retail" not in text and "healthcare" not in text
    assert [s["Sid"] for s in policy["Statement"]] == sorted(sids), "statements are sorted by Sid"
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids), "IAM Sids are alphanumeric"


def test_a_shared_warehouse_bucket_gets_one_deny_per_tenant_prefix(aws_tree):
    bundles, platform = load(aws_tree)
    docs = documents(bundles, platform, ACCOUNT)
    lakehouse = statements(docs["bucket_policy:acme-lakehouse"])
    assert "DenyAllButTenantAndPlatform" not in lakehouse  # a bucket-wide deny naming one tenant locks out the rest
    finance = lakehouse["DenyFinanceWarehouseObjectsToOthers"]
    assert finance["Resource"] == ["arn:aws:s3:::acme-lakehouse/finance/*"] and finance["Effect"] == "Deny"
    assert finance["Condition"]["StringNotLike"]["aws:PrincipalArn"] == sorted([
        FINANCE_ROLE, PLATFORM_ROLE, f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/tenantflow-finance/*",
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/tenantflow-platform/*"])
    retail = lakehouse["DenyRetailWarehouseObjectsToOthers"]
    assert retail["Resource"] == ["arn:aws:s3:::acme-lakehouse/retail/*"]
    assert FINANCE_ROLE not in retail["Condition"]["StringNotLike"]["aws:PrincipalArn"]
    assert lakehouse["DenyRetailWarehouseListingToOthers"]["Condition"]["StringLike"] == {
        "s3:prefix": ["retail", "retail/*"]}
    # the landing buckets are the tenant's alone: one bucket-wide deny, plus its key on every put
    landing = statements(docs["bucket_policy:acme-finance-landing"])
    assert set(landing) == {"DenyAllButTenantAndPlatform", "DenyInsecureTransport", "DenyLandingPutWithoutTenantKey"}
    assert RETAIL_ROLE not in json.dumps(landing)
    assert landing["DenyLandingPutWithoutTenantKey"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": [FINANCE_KEY]}}
    assert landing["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_one_tenants_documents_know_a_bucket_is_shared_from_the_others(aws_tree):
    bundles, platform = load(aws_tree)
    alone = documents(bundles, platform, ACCOUNT, only=["finance"])["bucket_policy:acme-lakehouse"]
    assert {s["Sid"] for s in alone["Statement"]} == {
        "DenyFinanceWarehouseListingToOthers", "DenyFinanceWarehouseObjectsToOthers", "DenyInsecureTransport",
        "DenyFinanceWarehousePutWithoutTenantKey"}


def test_a_warehouse_per_tenant_bucket_gets_a_bucket_wide_deny(config_tree):
    bundles, platform = load(aws_tenants(config_tree, warehouse="s3://acme-{tenant}-warehouse"))
    docs = documents(bundles, platform, ACCOUNT)
    assert "bucket_policy:acme-lakehouse" not in docs
    deny = statements(docs["bucket_policy:acme-retail-warehouse"])["DenyAllButTenantAndPlatform"]
    assert deny["Resource"] == ["arn:aws:s3:::acme-retail-warehouse", "arn:aws:s3:::acme-retail-warehouse/*"]
    assert RETAIL_ROLE in deny["Condition"]["StringNotLike"]["aws:PrincipalArn"]
    assert FINANCE_ROLE not in deny["Condition"]["StringNotLike"]["aws:PrincipalArn"]
    warehouse = statements(docs["role_policy:tenantflow-finance"])["WarehouseObjects"]
    assert warehouse["Resource"] == ["arn:aws:s3:::acme-finance-warehouse/*"]


def test_the_tenants_own_warehouse_wins_over_the_catalogs(config_tree):
    configs = aws_tenants(config_tree, tenants=("finance",))
    edit(configs / "finance" / "tenant.yaml", "  landing: s3://", "  warehouse: s3://acme-finance-iceberg/t\n  landing: s3://")
    bundles, platform = load(configs)
    docs = tenant_documents(bundles["finance"], platform, ACCOUNT)
    objects = statements(docs["role_policy:tenantflow-finance"])["WarehouseObjects"]["Resource"]
    assert objects == ["arn:aws:s3:::acme-finance-iceberg/t/*"]
    policy = statements(docs["bucket_policy:acme-finance-iceberg"])
    assert {"DenyAllButTenantAndPlatform", "DenyWarehousePutWithoutTenantKey"} <= set(policy)
    assert "bucket_policy:acme-lakehouse" not in docs


def test_a_kms_alias_is_matched_through_the_keys_it_names(aws_tree):
    bundles, platform = load(aws_tree)
    docs = tenant_documents(bundles["retail"], platform, ACCOUNT)
    use = statements(docs["role_policy:tenantflow-retail"])["KmsKeyUse"]
    assert use["Resource"] == [f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/*"]
    assert use["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/retail-landing"}}
    key = statements(docs["kms_key_policy:alias/retail-landing"])
    assert key["TenantRoleUses"]["Principal"] == {"AWS": RETAIL_ROLE}
    assert key["PlatformMaintains"]["Action"] == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]
    assert not any(a in key["AccountAdministers"]["Action"] for a in ("kms:Decrypt", "kms:Encrypt", "kms:*"))


def test_a_tenant_naming_its_own_worker_role_gets_its_policy_and_no_trust(config_tree):
    own = f"arn:aws:iam::{ACCOUNT_ID}:role/workers/healthcare-workers"
    edit(config_tree / "tenant_configs" / "healthcare" / "tenant.yaml", "  worker_queue: tenant_healthcare\n",
         f"  worker_queue: tenant_healthcare\nworkers:\n  role_arn: {own}\n")
    bundles, platform = load(config_tree / "tenant_configs")
    docs = tenant_documents(bundles["healthcare"], platform, ACCOUNT)
    assert sorted(docs) == ["role_policy:healthcare-workers"]
    text = as_terraform(docs, ACCOUNT)
    assert 'resource "aws_iam_role"' not in text and 'role = "healthcare-workers"' in text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("account_id", "12345", "must be the 12 digits of an AWS account"),
    ("region", "Ireland", "is not an AWS region name"),
    ("platform_role_arn", "arn:aws:iam::999999999999:role/tenantflow-platform", "IAM role ARN of account"),
])
def test_an_account_that_cannot_be_right_is_refused(field, value, message):
    given = {"account_id": ACCOUNT_ID, "region": REGION, "platform_role_arn": PLATFORM_ROLE, field: value}
    with pytest.raises(ValueError, match=message):
        AwsAccount(**given)


def tenantflow(configs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("tenantflow", "iam", *args, env={"TENANTFLOW_CONFIG_DIR": str(configs)}, check=False)


def test_cli_prints_the_json_of_one_tenant_or_all(aws_tree):
    one = tenantflow(aws_tree, "finance", *CLI_ACCOUNT)
    assert one.returncode == 0, one.stderr[-3000:]
    docs = json.loads(one.stdout)
    assert "role_policy:tenantflow-finance" in docs and "role_policy:tenantflow-retail" not in docs
    assert "acme-lakehouse is shared with retail" in one.stderr  # its policy there is finance's part only
    every = json.loads(tenantflow(aws_tree, *CLI_ACCOUNT).stdout)
    bundles, platform = load(aws_tree)
    assert every == documents(bundles, platform, ACCOUNT)
    assert {"role_policy:tenantflow-healthcare", "kms_key_policy:alias/retail-landing"} <= set(every)


def test_cli_writes_terraform_whose_policies_are_the_json_ones(aws_tree, tmp_path):
    out = tmp_path / "tenants.tf"
    result = tenantflow(aws_tree, *CLI_ACCOUNT, "--format", "terraform", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert text == tenantflow(aws_tree, *CLI_ACCOUNT, "--format", "terraform").stdout  # deterministic
    for block in ('resource "aws_iam_role" "tenantflow_finance"', 'resource "aws_iam_role_policy" "tenantflow_retail"',
                  'resource "aws_s3_bucket_policy" "acme_lakehouse"', 'resource "aws_kms_key_policy" "retail_landing"',
                  'data "aws_kms_alias" "retail_landing"', "key_id = data.aws_kms_alias.retail_landing.target_key_id"):
        assert block in text, block
    bundles, platform = load(aws_tree)
    docs = documents(bundles, platform, ACCOUNT)
    encoded = re.findall(r"^  policy = jsonencode\((.*?)^  \}\)$", text, re.S | re.M)
    parsed = [json.loads(body.replace(" : ", ": ") + "}") for body in encoded]
    expected = [d for n, d in docs.items() if not n.startswith("role_trust:")]
    assert sorted(map(json.dumps, parsed)) == sorted(map(json.dumps, expected))
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed: the HCL syntax check did not run")
    checked = subprocess.run([terraform, "fmt", "-check", "-"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, f"not valid (or not canonical) HCL:\n{checked.stdout}\n{checked.stderr}"


@pytest.mark.parametrize(("args", "code", "message"), [
    (("nobody", *CLI_ACCOUNT), 1, "no tenant 'nobody' in "),
    (("finance", "--account-id", "1234", "--region", REGION, "--platform-role", PLATFORM_ROLE), 2,
     "account id '1234' must be the 12 digits of an AWS account"),
    (("finance", "--account-id", ACCOUNT_ID, "--region", REGION, "--platform-role", "tenantflow-platform"), 2,
     "platform role 'tenantflow-platform' must be an IAM role ARN"),
])
def test_cli_bad_input_is_one_line_naming_the_fix(args, code, message):
    result = tenantflow(REPO / "tenant_configs", *args)
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and f"tenantflow iam: {message}" in result.stderr, result.stderr[-3000:]


def test_cli_refuses_all_tenants_while_one_is_invalid(config_tree):
    edit(config_tree / "tenant_configs" / "retail" / "tenant.yaml", "  pool_slots: 3\n", "  pool_slots: 0\n")
    result = tenantflow(config_tree / "tenant_configs", *CLI_ACCOUNT)
    assert result.returncode == 1 and "tenant(s) retail have an invalid config, nothing written" in result.stderr
    assert tenantflow(config_tree / "tenant_configs", "finance", *CLI_ACCOUNT).returncode == 0
