"""Open the pyiceberg catalog a tenant names, from the platform's catalog settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tenantflow.config.models import CatalogSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def catalog_properties(settings: CatalogSettings, home: str) -> dict[str, str]:
    props = {key: value.replace("{home}", home) for key, value in settings.properties.items()}
    props["type"] = settings.type
    return props


def open_catalog(name: str, settings: CatalogSettings, home: str) -> Catalog:
    from pyiceberg.catalog import load_catalog

    props = catalog_properties(settings, home)
    if settings.type == "sql":
        _ensure_local_dirs(props)
    return load_catalog(name, **props)


def _ensure_local_dirs(props: dict[str, str]) -> None:
    """The embedded SQLite catalog and file:// warehouse need their folders to exist."""
    uri = props.get("uri", "")
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    warehouse = props.get("warehouse", "")
    if warehouse.startswith("file://"):
        Path(warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
