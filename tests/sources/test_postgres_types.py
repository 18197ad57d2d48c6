"""PostgreSQL types through the Arrow-native path, and on into an Iceberg table."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tenantflow.config.models import CatalogSettings, SqlSource, Target
from tenantflow.loading.arrow_types import iceberg_compatible
from tenantflow.loading.iceberg_writer import write_batch
from tenantflow.sources.sql import read_sql

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
UID = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")


@pytest.fixture(scope="module")
def pg_url():
    name = f"tf_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE typed (id bigint, price numeric(12,3), ratio double precision, free numeric, "
            "ts timestamp, tz timestamptz, d date, ok boolean, doc jsonb, raw json, u uuid, tags text[], "
            "nums int[], note text)"))
        conn.execute(sa.text(
            "INSERT INTO typed VALUES (1, 1234.567, 0.5, 3.14159265358979323846, '2026-11-01 10:00:00', "
            "'2026-11-01 10:00:00+01', '2026-11-01', true, '{\"a\": [1, 2]}', '{\"b\": null}', :u, "
            "'{x,y}', '{1,2,3}', 'Zoë 李雷 ✓'), "
            "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"), {"u": str(UID)})
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="module")
def typed(pg_url) -> pa.Table:
    source = SqlSource(kind="sql", connection_id="finance__pg", table="typed")
    return pa.concat_tables(list(read_sql(pg_url, source))).sort_by("id")


def test_types_map_to_arrow(typed):
    t = typed.schema
    assert t.field("price").type == pa.decimal128(12, 3)
    assert t.field("tz").type == pa.timestamp("us", tz="UTC")
    assert t.field("ts").type == pa.timestamp("us")
    assert t.field("nums").type == pa.list_(pa.int32())
    for text_like in ("doc", "raw", "u", "free", "note"):
        assert t.field(text_like).type == pa.string(), text_like


def test_values_round_trip(typed):
    row, empty = typed.to_pylist()
    assert row["price"] == Decimal("1234.567")
    assert row["free"] == "3.14159265358979323846"  # unconstrained numeric stays exact, as text
    assert row["tz"] == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert row["d"] == date(2026, 11, 1) and row["ok"] is True
    assert row["doc"] == '{"a": [1, 2]}' and row["raw"] == '{"b": null}'
    assert row["u"] == str(UID)
    assert row["tags"] == ["x", "y"] and row["nums"] == [1, 2, 3]
    assert row["note"] == "Zoë 李雷 ✓"
    assert all(v is None for k, v in empty.items() if k != "id")


def test_typed_rows_load_into_iceberg(typed, tmp_path):
    from tenantflow.catalog.catalogs import open_catalog

    catalog = open_catalog("t", CatalogSettings(type="sql", properties={
        "uri": "sqlite:///{home}/c.db", "warehouse": "file://{home}/w"}), str(tmp_path))
    from tenantflow.loading.commit import PlannedLoad

    write_batch(catalog, "finance.typed", iceberg_compatible(typed), Target(table="typed", mode="append"),
                PlannedLoad(run_id="r1", pipeline_id="typed"))
    back = catalog.load_table("finance.typed").scan().to_arrow().sort_by("id")
    assert back.to_pylist() == typed.to_pylist()
