"""A QualityStore on a real pyiceberg SQL catalog (SQLite) in a fresh namespace, for quality tests."""

from __future__ import annotations

from pathlib import Path


def quality_store(home: Path):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings
    from tenantflow.quality.store import QualityStore

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    return QualityStore(open_catalog("local", settings, str(home)), "acme")
