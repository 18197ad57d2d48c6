"""A tenant's Iceberg files: under its own warehouse, written with its own identity, under its own KMS key."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenantflow import identity
from tenantflow.catalog.catalogs import catalog_properties, open_tenant_catalog
from tenantflow.config.loader import load_tenant
from tenantflow.config.models import CatalogSettings, Target
from tenantflow.landing import s3 as landing_s3_module
from tenantflow.loading.commit import PlannedLoad


@pytest.fixture
def lakehouse(moto_endpoint, monkeypatch):
    """A bucket and a KMS key per tenant on the session's moto server; finance's own connection."""
    import boto3

    monkeypatch.setattr(landing_s3_module, "_HOOKS", {})
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="acme-lakehouse")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = kms.create_key(Description="finance data")["KeyMetadata"]["Arn"]
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__AWS", json.dumps({
        "conn_type": "aws", "login": "finance-key", "password": "finance-secret",
        "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    return s3, key


def _tenant(config_tree, key: str, monkeypatch):
    from yaml_edits import edit

    root = config_tree / "tenant_configs"
    edit(root / "_platform.yaml", 'warehouse: "file://{home}/warehouse/{tenant}"',
         'warehouse: "s3://acme-lakehouse/{tenant}"')
    edit(root / "finance/tenant.yaml", "landing: landing/finance", f"landing: landing/finance\n  kms_key_id: {key}")
    return load_tenant(root, "finance")


def _objects(s3, prefix: str) -> dict[str, dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-lakehouse", Prefix=prefix).get("Contents", [])]
    return {k: s3.head_object(Bucket="acme-lakehouse", Key=k) for k in keys}


def test_every_iceberg_file_is_encrypted_under_the_tenants_key(lakehouse, config_tree, tmp_path, monkeypatch):
    from tenantflow.loading.file_append import copy_parts
    from tenantflow.loading.iceberg_writer import write_batch

    s3, key = lakehouse
    bundle = _tenant(config_tree, key, monkeypatch)
    with identity.acting_for("finance"):
        catalog = open_tenant_catalog(bundle.tenant, bundle.platform, str(tmp_path))
        catalog.create_namespace("finance")
        data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "amount": [1.5, 2.5, 3.5]})
        write_batch(catalog, "finance.orders", data, Target(table="orders", mode="append"),
                    PlannedLoad(run_id="r1", pipeline_id="orders"))
        table = catalog.load_table("finance.orders")
        part = tmp_path / "part-0.parquet"
        pq.write_table(data, part)
        copies = copy_parts(table, [str(part)])  # the file-append path copies landed parts into the table
        assert table.scan().to_arrow().num_rows == 3, "written files read back through the same FileIO"

    assert table.location().startswith("s3://acme-lakehouse/finance/finance/orders")
    objects = _objects(s3, "finance/")
    kinds = {name.rsplit(".", 1)[-1] for name in objects}
    assert {"parquet", "avro", "json"} <= kinds, f"data, manifests and metadata all written: {sorted(objects)}"
    assert copies[0].removeprefix("s3://acme-lakehouse/") in objects
    unencrypted = {k: (h.get("ServerSideEncryption"), h.get("SSEKMSKeyId")) for k, h in objects.items()
                   if (h.get("ServerSideEncryption"), h.get("SSEKMSKeyId")) != ("aws:kms", key)}
    assert unencrypted == {}, f"{len(unencrypted)} of {len(objects)} objects not under {key}: {unencrypted}"


def test_the_catalog_gets_the_identity_the_process_acts_with(lakehouse, config_tree, tmp_path, monkeypatch):
    _, key = lakehouse
    bundle = _tenant(config_tree, key, monkeypatch)
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({
        "conn_type": "aws", "login": "platform-key", "password": "platform-secret"}))
    settings = bundle.platform.catalogs["local"]
    with identity.acting_for("finance"):
        tenant = catalog_properties(settings, str(tmp_path), tenant_id="finance", kms_key_id=key)
    platform = catalog_properties(settings, str(tmp_path), tenant_id="finance")
    assert (tenant["s3.access-key-id"], tenant["s3.sse-kms-key-id"]) == ("finance-key", key)
    assert tenant["warehouse"] == "s3://acme-lakehouse/finance" and tenant["s3.region"] == "us-east-1"
    assert platform["s3.access-key-id"] == "platform-key" and "s3.sse-kms-key-id" not in platform


def test_an_assumed_role_reaches_the_warehouse_with_sts_credentials(lakehouse, moto_endpoint, tmp_path, monkeypatch):
    """`<tenant>__aws` may hold a role_arn: Airflow's AwsBaseHook assumes it (STS), pyiceberg gets the session."""
    settings = CatalogSettings(type="sql", properties={"uri": f"sqlite:///{tmp_path}/c.db",
                                                       "warehouse": "s3://acme-lakehouse/{tenant}"})
    monkeypatch.setenv("AIRFLOW_CONN_RETAIL__AWS", json.dumps({
        "conn_type": "aws", "login": "base-key", "password": "base-secret",
        "extra": {"role_arn": "arn:aws:iam::123456789012:role/tenantflow-retail", "endpoint_url": moto_endpoint,
                  "region_name": "us-east-1",
                  # the provider never sends an assume-role to the global endpoint_url: STS is named on its own
                  "service_config": {"sts": {"endpoint_url": moto_endpoint}}}}))
    with identity.acting_for("retail"):
        props = catalog_properties(settings, str(tmp_path), tenant_id="retail")
    assert props["s3.session-token"] and props["s3.access-key-id"] not in ("base-key", "testing"), props
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("t", **props)
    catalog.create_namespace("retail")
    table = catalog.create_table("retail.sales", pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([7], pa.int64())}))
    assert catalog.load_table("retail.sales").scan().to_arrow()["id"].to_pylist() == [7]


def test_a_tenant_cannot_steer_its_tables_fileio(config_tree):
    with pytest.raises(ValueError, match=r"\['py-io-impl', 's3.sse-kms-key-id'\] configure how the table's files"):
        Target(table="t", mode="append", properties={"py-io-impl": "evil.IO", "s3.sse-kms-key-id": "alias/x"})


def test_required_tenant_identity_refuses_the_shared_credentials(moto_endpoint, monkeypatch):
    monkeypatch.setattr(landing_s3_module, "_HOOKS", {})
    monkeypatch.delenv("AIRFLOW_CONN_HEALTHCARE__AWS", raising=False)
    monkeypatch.setenv("AIRFLOW__TENANTFLOW__TENANT_AWS_IDENTITY", "required")
    with identity.acting_for("healthcare"), pytest.raises(identity.MissingTenantIdentity,
                                                          match="'healthcare__aws' not found.*create the connection"):
        landing_s3_module.landing_s3(identity.aws_conn_id())
    assert landing_s3_module.landing_s3(identity.aws_conn_id()) is not None, "the platform's own falls back"
    monkeypatch.setenv("AIRFLOW__TENANTFLOW__TENANT_AWS_IDENTITY", "sometimes")
    with pytest.raises(ValueError, match="tenant_aws_identity = 'sometimes': use one of fallback, required"):
        identity.tenant_identity_required()


def test_a_tenant_stage_acts_for_its_tenant_and_maintenance_for_the_platform(repo):
    from tenantflow.config.loader import load_all
    from tenantflow.operators.land import LandOperator
    from tenantflow.operators.maintenance import TableMaintenanceOperator
    from tenantflow.pipeline_context import PipelineContext

    bundles, _ = load_all(repo / "tenant_configs")
    bundle = bundles["retail"]
    ctx = PipelineContext(bundle.tenant, bundle.pipelines[0], bundle.platform, "/tmp")
    context = {"run_id": "manual__1", "dag_run": None, "triggering_asset_events": {}}
    try:
        LandOperator(task_id="land", pipeline_ctx=ctx, extract_task_id="extract").pre_execute(context)
        assert identity.aws_conn_id() == "retail__aws"
        TableMaintenanceOperator(task_id="maintain", pipeline_ctx=ctx).pre_execute(context)
        assert identity.aws_conn_id() == identity.PLATFORM_AWS_CONN_ID
    finally:
        identity.act_for(None)
