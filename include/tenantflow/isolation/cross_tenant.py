"""Checks across tenants (run by ``tenantflow validate``, not at parse): no shared storage or namespace."""

from __future__ import annotations

from collections.abc import Mapping

from tenantflow.config.errors import ConfigError
from tenantflow.config.loader import TENANT_FILE, TenantBundle
from tenantflow.config.yaml_source import locate, read_yaml
from tenantflow.settings import Settings


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def cross_tenant_errors(bundles: Mapping[str, TenantBundle], only: set[str] | None = None) -> list[ConfigError]:
    errors = []
    items = sorted(bundles.items())
    for i, (tid, bundle) in enumerate(items):
        for other_id, other in items[i + 1:]:
            if only is not None and tid not in only and other_id not in only:
                continue
            pairs = (
                ("storage.landing", bundle.tenant.storage.landing, other.tenant.storage.landing, _overlaps),
                ("catalog.namespace", bundle.tenant.catalog.namespace, other.tenant.catalog.namespace,
                 lambda x, y: x == y),
            )
            for field, mine, theirs, clash in pairs:
                if clash(mine, theirs):
                    path = bundle.folder / TENANT_FILE
                    line, column, _ = locate(read_yaml(path).text, tuple(field.split(".")))
                    errors.append(ConfigError(path, line, column, field,
                                              f"{mine!r} overlaps tenant {other_id!r} ({theirs!r})",
                                              "every tenant needs its own location"))
    return errors


def missing_entry_files(settings: Settings, bundles: Mapping[str, TenantBundle]) -> list[str]:
    return [
        f"{settings.dags_dir / (tid + '.py')}: missing DAG entry file for tenant {tid!r} "
        f"(hint: copy dags/tenants/<any tenant>.py or run `tenantflow new-tenant {tid}` on a new tenant)"
        for tid in sorted(bundles)
        if not (settings.dags_dir / f"{tid}.py").is_file()
    ]
