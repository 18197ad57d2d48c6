"""The catalog hook: the tenant's Iceberg tables, only in the tenant's own namespaces.

The catalog is opened from the platform's catalog settings; its credentials come from the tenant's
catalog connection (``catalog.connection``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from tenantflow import naming
from tenantflow.catalog.catalogs import open_tenant_catalog
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.loading import state
from tenantflow.pipeline_context import PipelineContext

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from tenantflow.loading.commit import PlannedLoad
    from tenantflow.loading.iceberg_writer import WriteResult

log = logging.getLogger(__name__)


class IcebergHook:
    def __init__(self, ctx: PipelineContext) -> None:
        namespace = ctx.namespace
        if not naming.owns_namespace(ctx.tenant_id, namespace):
            raise TenantIsolationError(f"tenant {ctx.tenant_id!r} may not write namespace {namespace!r}")
        self.ctx = ctx

    @cached_property
    def catalog(self) -> Catalog:
        return open_tenant_catalog(self.ctx.tenant, self.ctx.platform, self.ctx.home)

    def tenant_table(self, identifier: str) -> Table | None:
        """Another table of the tenant (quarantine, quality tables); None if it does not exist (yet)."""
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        namespace = identifier.rsplit(".", 1)[0]
        if not naming.owns_namespace(self.ctx.tenant_id, namespace):
            raise TenantIsolationError(f"tenant {self.ctx.tenant_id!r} may not open {identifier!r}")
        try:
            return self.catalog.load_table(identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            return None

    def table(self) -> Table | None:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        try:
            return self.catalog.load_table(self.ctx.table_identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            return None

    def load_state(self) -> state.LoadState | None:
        """The table's load state along its current history (logs when the table was rolled back)."""
        table = self.table()
        return state.read_state(table, explain=True) if table is not None else None

    def watermark(self) -> str | None:
        current = self.load_state()
        return current.watermark if current is not None else None

    def loaded_files(self, candidates: Iterable[str]) -> set[str]:
        """Those of ``candidates`` that are loaded already."""
        current = self.load_state()
        return current.loaded(candidates) if current is not None else set()

    def write(self, data: pa.Table, planned: PlannedLoad) -> WriteResult:
        from tenantflow.loading.arrow_types import iceberg_compatible
        from tenantflow.loading.iceberg_writer import write_batch

        return write_batch(self.catalog, self.ctx.table_identifier, iceberg_compatible(data),
                           self.ctx.pipeline.target, planned)

    def commit_state(self, planned: PlannedLoad) -> WriteResult | None:
        from tenantflow.loading.iceberg_writer import commit_state

        return commit_state(self.catalog, self.ctx.table_identifier, self.ctx.pipeline.target, planned)

    def append_landed(
        self, parts: list[str], schemas: list[pa.Schema], rows: int, planned: PlannedLoad, read: Callable[[], pa.Table]
    ) -> WriteResult | None:
        from tenantflow.loading.iceberg_writer import append_landed_parts

        return append_landed_parts(self.catalog, self.ctx.table_identifier, parts, schemas, rows,
                                   self.ctx.pipeline.target, planned, read)

    def classify(self, properties: dict[str, str]) -> dict[str, str]:
        """Write classification properties (table and columns) and column docs; unchanged ones are skipped."""
        from tenantflow.pii.classification import write_to_iceberg

        table = self.table()
        return write_to_iceberg(table, properties) if table is not None and properties else {}

    def set_properties(self, properties: dict[str, str]) -> dict[str, str]:
        table = self.table()
        if table is None:
            raise LookupError(f"table {self.ctx.table_identifier} does not exist yet; the load task creates it")
        changed = {k: v for k, v in properties.items() if table.properties.get(k) != v}
        if changed:
            with table.transaction() as tx:
                tx.set_properties(**changed)
        return changed
