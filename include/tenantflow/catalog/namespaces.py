"""Each tenant's Iceberg namespace, created (with ownership properties) by ``tenantflow sync``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantflow import naming

if TYPE_CHECKING:
    from tenantflow.config.loader import TenantBundle

log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class NamespaceChange:
    tenant_id: str
    catalog: str
    namespace: str
    kind: str  # create_namespace | update_namespace | failed
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.catalog}:{self.namespace}" + (
            f" ({self.detail})" if self.detail else "")


def namespace_properties(bundle: TenantBundle) -> dict[str, str]:
    tenant = bundle.tenant
    return {
        "comment": f"{tenant.display_name}: tables of tenant {tenant.id} (managed by tenantflow)",
        "tenantflow.tenant": tenant.id,
        "tenantflow.owner": tenant.owners[0].email,
        "tenantflow.classification": str(tenant.classification),
    }


def sync_namespaces(
    bundles: Mapping[str, TenantBundle], open_for: Callable[[TenantBundle], Any], *, dry_run: bool = False,
) -> list[NamespaceChange]:
    """Create missing tenant namespaces and set their properties; a catalog that fails is reported, not raised."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchNamespaceError

    changes = []
    for tenant_id, bundle in sorted(bundles.items()):
        namespace, catalog_name = bundle.tenant.catalog.namespace, bundle.tenant.catalog.name
        if not naming.owns_namespace(tenant_id, namespace):  # config checks refuse this; never create it
            continue
        wanted = namespace_properties(bundle)
        try:
            catalog = open_for(bundle)
            try:
                have = catalog.load_namespace_properties(namespace)
            except NoSuchNamespaceError:
                changes.append(NamespaceChange(tenant_id, catalog_name, namespace, "create_namespace"))
                if not dry_run:
                    try:
                        catalog.create_namespace(namespace, wanted)
                    except NamespaceAlreadyExistsError:  # created meanwhile by a load task
                        catalog.update_namespace_properties(namespace, updates=wanted)
                continue
            differing = {k: v for k, v in wanted.items() if have.get(k) != v}
            if differing:
                changes.append(NamespaceChange(tenant_id, catalog_name, namespace, "update_namespace",
                                               ", ".join(sorted(differing))))
                if not dry_run:
                    catalog.update_namespace_properties(namespace, updates=differing)
        except Exception as exc:  # noqa: BLE001 - one tenant's catalog failing must not stop the others
            log.warning("namespace %s of tenant %s: %s", namespace, tenant_id, exc)
            changes.append(NamespaceChange(tenant_id, catalog_name, namespace, "failed", str(exc)[:300]))
    return changes
