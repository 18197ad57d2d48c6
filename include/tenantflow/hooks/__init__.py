"""Hooks: the only place that touches connections, storage and catalogs, always tenant-scoped."""
