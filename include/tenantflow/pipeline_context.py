"""Everything a task needs to know about its pipeline, derived from config (never from user input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenantflow import naming
from tenantflow.config.effective import effective_retention
from tenantflow.config.models import (
    CatalogSettings,
    Classification,
    Engine,
    PipelineConfig,
    PlatformConfig,
    TenantConfig,
)
from tenantflow.config.retention import Retention
from tenantflow.landing.batch import BatchLocation
from tenantflow.settings import resolve_local


@dataclass(frozen=True)
class PipelineContext:
    tenant: TenantConfig
    pipeline: PipelineConfig
    platform: PlatformConfig
    home: str
    pod_templates: str | None = None
    """The folder of the tenants' KubernetesExecutor pod templates (``[tenantflow] kubernetes_pod_templates``)."""

    @property
    def tenant_id(self) -> str:
        return self.tenant.id

    @property
    def dag_id(self) -> str:
        return naming.dag_id(self.tenant.id, self.pipeline.id)

    @property
    def owner(self) -> str:
        return self.pipeline.owner or self.tenant.owners[0].email

    @property
    def classification(self) -> Classification:
        return self.pipeline.classification or self.tenant.classification

    @property
    def retention(self) -> Retention:
        """How long this pipeline's raw batches, rejects and quarantine rows are kept (platform-bounded)."""
        return effective_retention(self.platform, self.tenant, self.pipeline)

    @property
    def engine(self) -> Engine:
        return self.pipeline.engine or self.tenant.default_engine

    @property
    def landing(self) -> str:
        return resolve_local(self.tenant.storage.landing, Path(self.home))

    def batch(self, run_id: str) -> BatchLocation:
        return BatchLocation(self.landing, self.pipeline.id, run_id, kms_key_id=self.tenant.storage.kms_key_id,
                             dag_id=self.dag_id)

    @property
    def namespace(self) -> str:
        return self.tenant.catalog.namespace

    @property
    def table_identifier(self) -> str:
        return naming.table_identifier(self.namespace, self.pipeline.target.table)

    @property
    def catalog_name(self) -> str:
        return self.tenant.catalog.name

    @property
    def catalog_settings(self) -> CatalogSettings:
        return self.platform.catalogs[self.catalog_name]

    @property
    def asset_uri(self) -> str:
        return naming.table_asset_uri(self.catalog_name, self.namespace, self.pipeline.target.table)

    def source_location(self, path: str) -> str:
        return resolve_local(path, Path(self.home))
