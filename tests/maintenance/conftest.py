"""Real pyiceberg tables on a SQL catalog (SQLite) with a local warehouse under tmp_path."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pytest


@pytest.fixture
def catalog(tmp_path):
    from tenantflow.catalog.catalogs import open_catalog
    from tenantflow.config.models import CatalogSettings

    settings = CatalogSettings(type="sql", properties={"uri": "sqlite:///{home}/catalog.db",
                                                      "warehouse": "file://{home}/warehouse"})
    catalog = open_catalog("test", settings, str(tmp_path))
    catalog.create_namespace("acme")
    return catalog


def orders(start: int, count: int, region: str = "eu") -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table({"order_id": pa.array(ids, pa.int64()), "region": [region] * count,
                     "amount": pa.array([i * 1.5 for i in ids], pa.float64())})


def table_dir(table) -> Path:
    return Path(table.location().removeprefix("file://"))


def files_on_disk(table, suffix: str = "") -> set[str]:
    return {str(p) for p in table_dir(table).rglob("*") if p.is_file() and p.name.endswith(suffix)}


def age(path: str | Path, seconds: float) -> None:
    """Set a file's modification time ``seconds`` in the past."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def sorted_rows(table) -> pa.Table:
    return table.refresh().scan().to_arrow().sort_by("order_id")


def crashed_load(table, rows: pa.Table) -> list[str]:
    """Data files a load wrote before it was killed: in the table's data folder, never committed."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    return [f.file_path.removeprefix("file://") for f in _dataframe_to_data_files(table.metadata, rows, table.io)]
