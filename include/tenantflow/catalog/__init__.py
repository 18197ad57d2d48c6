"""Iceberg catalogs and table registration."""
