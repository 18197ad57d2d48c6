"""A copy of the example config tree with finance and retail on AWS: S3 landing with KMS keys, an SQS source,
a Kinesis source, an S3 files source watched on file arrival, and a Glue catalog with an S3 warehouse."""

from __future__ import annotations

from pathlib import Path

from yaml_edits import edit

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "eu-west-1"
PLATFORM_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/tenantflow-platform"
FINANCE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
RETAIL_KEY = "alias/retail-landing"

PIPELINES = {
    "payment_events": """\
description: Payment events from finance's SQS queue
source:
  kind: queue
  broker: sqs
  connection_id: {tenant}__aws
  queue: {tenant}-payment-events
  column_types: {{event_id: string}}
target:
  table: payment_events
  mode: append
""",
    "ticks": """\
description: Market ticks from finance's Kinesis stream
source:
  kind: queue
  broker: kinesis
  connection_id: {tenant}__aws
  stream: {tenant}-ticks
  column_types: {{tick_id: string}}
target:
  table: ticks
  mode: append
""",
    "partner_drops": """\
description: Files the partner drops, loaded as they arrive
schedule:
  on: file_arrival
  queue: https://sqs.{region}.amazonaws.com/{account}/{tenant}-arrivals
source:
  kind: files
  path: s3://acme-{tenant}-drop/partner/*.csv
  format: csv
  connection_id: {tenant}__aws
target:
  table: partner_drops
  mode: append
""",
}


def aws_tenants(tree: Path, *, warehouse: str = "s3://acme-lakehouse/{tenant}", finance_key: str = FINANCE_KEY,
                retail_key: str = RETAIL_KEY, tenants: tuple[str, ...] = ("finance", "retail")) -> Path:
    """Put ``tenants`` of the config tree copy ``tree`` on AWS; returns its tenant_configs folder."""
    configs = tree / "tenant_configs"
    edit(configs / "_platform.yaml", "catalogs:\n", "catalogs:\n  lake:\n    type: glue\n    properties:\n"
         f"      warehouse: \"{warehouse}\"\n      glue.region: {REGION}\n")
    keys = {"finance": finance_key, "retail": retail_key}
    for tenant in tenants:
        tenant_file = configs / tenant / "tenant.yaml"
        edit(tenant_file, f"  landing: landing/{tenant}\n",
             f"  landing: s3://acme-{tenant}-landing/raw\n  kms_key_id: \"{keys[tenant]}\"\n")
        edit(tenant_file, f"  namespace: {tenant}\n", f"  name: lake\n  namespace: {tenant}\n")
        for name, text in PIPELINES.items():
            (configs / tenant / "pipelines" / f"{name}.yaml").write_text(
                text.format(tenant=tenant, region=REGION, account=ACCOUNT_ID), encoding="utf-8")
    return configs
