"""What a tenant's catalog connection holds: the type the catalog builders, the connection hook and the
Databricks job environment share (no imports, so none of them imports another through it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogCredentials:
    """What a tenant's catalog connection holds (an Airflow connection, or the environment in a job)."""

    host: str | None = None
    login: str | None = None
    password: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def extra_value(self, key: str) -> str | None:
        return dict(self.extra).get(key)
