"""Tenant settings of the Databricks engine: the job cluster each pipeline run gets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tenantflow.config.base import Model

# tags the platform sets on every job cluster; a tenant cannot override them
RESERVED_TAGS = frozenset({"tenant", "pipeline", "cost_center", "dag_id"})


class Autoscale(Model):
    min_workers: int = Field(ge=0, le=1000)
    max_workers: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _order(self) -> Autoscale:
        if self.min_workers > self.max_workers:
            raise ValueError(f"autoscale min_workers {self.min_workers} is greater than max_workers {self.max_workers}")
        return self


class DatabricksCluster(Model):
    cloud: Literal["aws", "azure", "gcp"] = "aws"
    spark_version: str = Field(min_length=1, description="Databricks runtime, e.g. '15.4.x-scala2.12'.")
    node_type_id: str | None = Field(default=None, description="Worker node type (or use instance_pool_id).")
    instance_pool_id: str | None = Field(default=None, description="Instance pool for driver and workers.")
    autoscale: Autoscale
    policy_id: str | None = Field(default=None, description="Cluster policy the job cluster must satisfy.")
    availability: Literal["on_demand", "spot", "spot_with_fallback"] = "spot_with_fallback"
    first_on_demand: int = Field(default=1, ge=0, description="Nodes (driver first) kept on demand.")
    cost_center: str = Field(min_length=1, description="Set as the cluster's cost_center tag.")
    custom_tags: dict[str, str] = Field(default_factory=dict)
    wheel: str = Field(
        min_length=1,
        description="Workspace location of the tenantflow wheel, e.g. /Volumes/main/platform/wheels/tenantflow.whl",
    )
    timeout_seconds: int = Field(default=3600, ge=60, le=172_800, description="Run timeout (Jobs API).")
    poll_interval_seconds: int = Field(default=30, ge=1, le=600)

    @model_validator(mode="after")
    def _node_or_pool(self) -> DatabricksCluster:
        if (self.node_type_id is None) == (self.instance_pool_id is None):
            raise ValueError("set exactly one of `node_type_id` or `instance_pool_id` (a pool fixes the node type)")
        return self

    @field_validator("custom_tags")
    @classmethod
    def _no_reserved_tags(cls, value: dict[str, str]) -> dict[str, str]:
        if reserved := sorted(RESERVED_TAGS & set(value)):
            raise ValueError(f"custom_tags {reserved} are set by the platform (tenant, pipeline, cost_center); "
                             "remove them (set `cost_center` as its own field)")
        return value
