"""What a pipeline run submits to the tenant's Databricks workspace (Jobs API 2.2 runs/submit), from config.

Pure functions: the operator and the tests build the same payload from the same config.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig

if TYPE_CHECKING:
    from tenantflow.config.processing import DatabricksCluster
    from tenantflow.pipeline_context import PipelineContext

CONNECTION_NAME = "databricks"
TASK_KEY = "transform_load"
PACKAGE = "tenantflow"
ENTRY_POINT = "tenantflow-databricks-job"  # [project.scripts] of the wheel -> processing.databricks_job:main

# node availability per cloud: Databricks names them differently on each
_AVAILABILITY = {
    "aws": ("aws_attributes", {"on_demand": "ON_DEMAND", "spot": "SPOT", "spot_with_fallback": "SPOT_WITH_FALLBACK"}),
    "azure": ("azure_attributes", {"on_demand": "ON_DEMAND_AZURE", "spot": "SPOT_AZURE",
                                   "spot_with_fallback": "SPOT_WITH_FALLBACK_AZURE"}),
    "gcp": ("gcp_attributes", {"on_demand": "ON_DEMAND_GCP", "spot": "PREEMPTIBLE_GCP",
                               "spot_with_fallback": "PREEMPTIBLE_WITH_FALLBACK_GCP"}),
}


def connection_id(tenant_id: str) -> str:
    return f"{tenant_id}__{CONNECTION_NAME}"


def idempotency_token(tenant_id: str, pipeline_id: str, run_id: str, generation: int = 0) -> str:
    """Stable across retries of one Airflow run: a retry reattaches to the run it submitted before.

    ``generation`` moves on only when the earlier run ended in failure (see the operator).
    The Jobs API allows at most 64 characters.
    """
    digest = hashlib.sha256(f"{tenant_id}\x1f{pipeline_id}\x1f{run_id}\x1f{generation}".encode()).hexdigest()
    return f"tf-{digest[:56]}-{generation}"[:64]


def cluster_tags(ctx: PipelineContext, cluster: DatabricksCluster) -> dict[str, str]:
    return {**cluster.custom_tags, "tenant": ctx.tenant_id, "pipeline": ctx.pipeline.id,
            "cost_center": cluster.cost_center, "dag_id": ctx.dag_id}


def new_cluster(ctx: PipelineContext, cluster: DatabricksCluster) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "spark_version": cluster.spark_version,
        "autoscale": {"min_workers": cluster.autoscale.min_workers, "max_workers": cluster.autoscale.max_workers},
        "custom_tags": cluster_tags(ctx, cluster),
        "spark_env_vars": {"TENANTFLOW_TENANT": ctx.tenant_id},
    }
    if cluster.instance_pool_id is not None:
        # a pool fixes node type and availability
        spec["instance_pool_id"] = cluster.instance_pool_id
        spec["driver_instance_pool_id"] = cluster.instance_pool_id
    else:
        spec["node_type_id"] = cluster.node_type_id
        attributes, names = _AVAILABILITY[cluster.cloud]
        spec[attributes] = {"availability": names[cluster.availability]}
        if cluster.cloud in ("aws", "azure"):  # GCP has no first_on_demand
            spec[attributes]["first_on_demand"] = cluster.first_on_demand
    if cluster.policy_id is not None:
        spec["policy_id"] = cluster.policy_id
        spec["apply_policy_default_values"] = True
    return spec


def serialized_config(ctx: PipelineContext) -> str:
    """The pipeline's configuration for the job: tenant, pipeline and only the catalog the tenant uses."""
    platform = PlatformConfig(catalogs={ctx.catalog_name: ctx.catalog_settings})
    return json.dumps({
        "tenant": ctx.tenant.model_dump(mode="json", exclude_defaults=True),
        "pipeline": ctx.pipeline.model_dump(mode="json", exclude_defaults=True),
        "platform": platform.model_dump(mode="json", exclude_defaults=True),
    }, separators=(",", ":"), sort_keys=True)


def parse_config(text: str) -> tuple[TenantConfig, PipelineConfig, PlatformConfig]:
    data = json.loads(text)
    return (TenantConfig.model_validate(data["tenant"]), PipelineConfig.model_validate(data["pipeline"]),
            PlatformConfig.model_validate(data["platform"]))


MAX_PARAMETER_BYTES = 10_000  # Databricks' documented cap for a task's parameter list


def job_parameters(ctx: PipelineContext, run_id: str, home: str) -> list[str]:
    parameters = ["--config", serialized_config(ctx), "--run-id", run_id, "--home", home]
    size = len(json.dumps({"parameters": parameters}).encode())
    if size > MAX_PARAMETER_BYTES:
        raise ValueError(f"the serialized config of {ctx.dag_id} is {size} bytes; Databricks accepts at most "
                         f"{MAX_PARAMETER_BYTES} in task parameters (shorten the transform SQL or descriptions)")
    return parameters


def submit_task(ctx: PipelineContext, cluster: DatabricksCluster, run_id: str, home: str) -> dict[str, Any]:
    return {
        "task_key": TASK_KEY,
        "new_cluster": new_cluster(ctx, cluster),
        "python_wheel_task": {"package_name": PACKAGE, "entry_point": ENTRY_POINT,
                              "parameters": job_parameters(ctx, run_id, home)},
        "libraries": [{"whl": cluster.wheel}],
        "timeout_seconds": cluster.timeout_seconds,
    }


def run_name(ctx: PipelineContext, run_id: str) -> str:
    return f"{ctx.dag_id} {run_id}"[:100]
