"""Tenant and pipeline configuration: models, loading, defaults and ownership checks."""

from tenantflow.config.errors import ConfigError, ConfigErrors
from tenantflow.config.loader import TenantBundle, load_all, load_platform, load_tenant, tenant_ids
from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "PipelineConfig",
    "PlatformConfig",
    "TenantBundle",
    "TenantConfig",
    "load_all",
    "load_platform",
    "load_tenant",
    "tenant_ids",
]
