"""The one-tenant setup the operator benchmarks share: a 'bench' tenant on a local SQL catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class FakeTaskInstance:
    """What the stage operators read from Airflow's context: XCom of the extract task."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcom.get(task_ids)


def bench_context(home: Path, pipeline: dict[str, Any]) -> Any:
    """A PipelineContext for ``pipeline`` (a pipeline YAML document) of tenant 'bench' under ``home``."""
    from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig
    from tenantflow.pipeline_context import PipelineContext

    tenant = TenantConfig.model_validate({
        "id": "bench", "display_name": "Bench", "tier": "standard",
        "owners": [{"name": "b", "email": "b@example.com"}],
        "quotas": {"pool_slots": 1, "max_active_runs": 1, "max_active_tasks": 1},
        "storage": {"landing": "landing/bench"}, "catalog": {"name": "local", "namespace": "bench"},
        "default_engine": "local", "classification": "internal",
        "retries": {"retries": 0, "retry_delay_seconds": 1, "max_retry_delay_seconds": 1}})
    platform = PlatformConfig.model_validate({"catalogs": {"local": {"type": "sql", "properties": {
        "uri": "sqlite:///{home}/catalog.db", "warehouse": "file://{home}/warehouse"}}}})
    return PipelineContext(tenant, PipelineConfig.model_validate(pipeline), platform, str(home))
