"""Arrow-native SQL reads (ConnectorX) against this machine's MariaDB and SQLite: types kept exact (decimals past
ConnectorX's own 28 digits / 10 decimals, unsigned integers, datetimes, JSON, binary, null-only columns), failures
classified, and partitioned parallel reads that return every row once (NULL keys too) on MariaDB, PostgreSQL
and SQLite, with the incremental cursor bounded so the committed watermark is exact."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tenantflow.config.models import SqlSource
from tenantflow.loading.watermark import to_text
from tenantflow.sources.connectorx_reader import connectorx_url
from tenantflow.sources.sql import SqlSourceHook, read_sql
from tenantflow.sources.sql_partitions import ranges


def _database(admin: str, url_for, create: str, drop: str):
    name = f"tf_cx_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(create.format(name=name)))
    yield url_for(name)
    with engine.connect() as conn:
        conn.execute(sa.text(drop.format(name=name)))
    engine.dispose()


@pytest.fixture
def mariadb():
    yield from _database("mysql+pymysql://root@127.0.0.1:3306/", lambda n: f"mysql+pymysql://root@127.0.0.1:3306/{n}",
                         "CREATE DATABASE {name} CHARACTER SET utf8mb4", "DROP DATABASE {name}")


@pytest.fixture
def postgres():
    yield from _database("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                         lambda n: f"postgresql+psycopg2://postgres@127.0.0.1:5432/{n}",
                         "CREATE DATABASE {name}", "DROP DATABASE {name} WITH (FORCE)")


def _run(url: str, *statements: str, params: list[dict] | None = None) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params) if params and statement.startswith("INSERT") \
                else conn.execute(sa.text(statement))
    engine.dispose()


def read(url: str, **source) -> pa.Table:
    cursor, watermark = source.pop("cursor", None), source.pop("watermark", None)
    config = SqlSource(kind="sql", connection_id="acme__db", **{"table": "t", "batch_rows": 100, **source})
    tables = list(read_sql(url, config, cursor=cursor, watermark=watermark))
    return pa.concat_tables(tables) if tables else pa.table({})


MYSQL_TYPES = """CREATE TABLE t (
    id BIGINT PRIMARY KEY, amount DECIMAL(12,2), precise DECIMAL(30,15), huge DECIMAL(38,0), wide DECIMAL(65,2),
    counter BIGINT UNSIGNED, small INT UNSIGNED, flag TINYINT(1), name VARCHAR(40), created DATETIME(6),
    day DATE, doc JSON, payload BLOB, nothing VARCHAR(5), price DOUBLE)"""


def test_mariadb_types_are_exact_where_connectorx_alone_would_round_or_fail(mariadb):
    _run(mariadb, MYSQL_TYPES, """INSERT INTO t VALUES
        (1, 1234567890.12, 123456789012345.123456789012345, 12345678901234567890123456789012345678,
         123456789012345678901234567890123456789012345678901234567890123.45, 18446744073709551615, 4294967295, 1,
         'Zoë 😀', '2026-12-04 10:11:12.123456', '2026-12-04', '{"a": [1, 2]}', x'00ff10', NULL, 1.5),
        (2, -0.01, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""")
    table = read(mariadb).sort_by("id")
    types = {f.name: f.type for f in table.schema}
    assert types["amount"] == pa.decimal128(12, 2) and types["precise"] == pa.decimal128(30, 15)
    assert types["huge"] == pa.decimal128(38, 0)
    assert types["wide"] == pa.string(), "past Iceberg's 38 digits a decimal stays exact as text"
    assert types["counter"] == pa.decimal128(20, 0) and types["small"] == pa.int64(), "no unsigned in Iceberg"
    assert types["payload"] == pa.binary() and types["name"] == pa.string() and types["doc"] == pa.string()
    assert types["nothing"] == pa.string(), "a null-only column keeps the server's type"
    assert types["created"] == pa.timestamp("us") and types["day"] == pa.date32()
    first, second = table.to_pylist()
    assert first["amount"] == Decimal("1234567890.12") and second["amount"] == Decimal("-0.01")
    assert first["precise"] == Decimal("123456789012345.123456789012345")
    assert first["huge"] == Decimal("12345678901234567890123456789012345678")
    assert first["wide"] == "123456789012345678901234567890123456789012345678901234567890123.45"
    assert first["counter"] == Decimal(18446744073709551615) and first["small"] == 4294967295
    assert first["name"] == "Zoë 😀" and json.loads(first["doc"]) == {"a": [1, 2]}
    assert first["created"] == dt.datetime(2026, 12, 4, 10, 11, 12, 123456) and first["payload"] == b"\x00\xff\x10"
    assert second["nothing"] is None and second["precise"] is None


@pytest.fixture
def server_zone_plus_three():
    """The server's default time zone (what ConnectorX's sessions get) is +03:00 for the test, then restored."""
    engine = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT @@global.time_zone")).scalar()
        conn.execute(sa.text("SET GLOBAL time_zone = '+03:00'"))
    try:
        yield
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text("SET GLOBAL time_zone = :zone"), {"zone": before})
        engine.dispose()


def test_a_mariadb_timestamp_is_the_utc_instant_whatever_the_server_zone(mariadb, server_zone_plus_three):
    _run(mariadb, "CREATE TABLE t (id INT PRIMARY KEY, at TIMESTAMP(6) NULL, wall DATETIME(3))",
         "SET time_zone = '+05:00'",
         """INSERT INTO t VALUES (1, '2026-12-04 15:00:00.250000', '2026-12-04 15:00:00.250'), (2, NULL, NULL),
            (3, '2026-12-04 16:30:00', '2026-12-04 16:30:00')""")
    table = read(mariadb).sort_by("id")
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC"), "a TIMESTAMP is an instant"
    assert table.schema.field("wall").type == pa.timestamp("us"), "a DATETIME is a wall time: no zone"
    utc = dt.UTC
    assert table.column("at").to_pylist() == [dt.datetime(2026, 12, 4, 10, 0, 0, 250000, tzinfo=utc), None,
                                              dt.datetime(2026, 12, 4, 11, 30, tzinfo=utc)]
    assert table.column("wall").to_pylist()[0] == dt.datetime(2026, 12, 4, 15, 0, 0, 250000)
    newest = to_text(max(t for t in table.column("at").to_pylist() if t is not None))
    assert newest == "2026-12-04 11:30:00+00:00", "the watermark is stored as the UTC instant"
    later = read(mariadb, cursor="at", watermark=newest)
    assert later.num_rows == 0, "the watermark is compared as the same instant, not as a +03:00 wall time"
    again = read(mariadb, cursor="at", watermark="2026-12-04 10:00:00.250000+00:00")
    assert again.column("id").to_pylist() == [3]
    split = read(mariadb, cursor="at", watermark="2026-12-04 10:00:00+00:00", partition_on="id", partitions=2)
    assert sorted(split.column("id").to_pylist()) == [1, 3], "partitioned reads bound the same instant"


def test_sqlite_types_and_a_mixed_type_column_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "src.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price REAL, at TIMESTAMP, day DATE, b BLOB, "
                "empty TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    [(i, f"n{i}", i / 4, f"2026-12-0{1 + i % 5} 10:00:00", "2026-12-04", bytes([i % 256]))
                     for i in range(1, 301)])
    con.execute("CREATE TABLE mixed (id INTEGER PRIMARY KEY, v)")
    con.executemany("INSERT INTO mixed VALUES (?, ?)", [(i, i if i < 200 else f"text {i}") for i in range(1, 301)])
    con.commit()
    con.close()
    url = f"sqlite:///{path}"
    assert connectorx_url(url) == f"sqlite://{path}"
    table = read(url).sort_by("id")
    assert table.num_rows == 300 and table["name"].to_pylist()[:2] == ["n1", "n2"]
    assert table.schema.field("price").type == pa.float64() and table["at"][0].as_py() == dt.datetime(2026, 12, 2, 10)
    assert table.schema.field("b").type == pa.binary() and table["empty"].null_count == 300

    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_ACME__DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    hook = SqlSourceHook(tenant_id="acme", connection_id="acme__db")
    with pytest.raises(AirflowFailException, match="(?s)acme__db.*different types.*CAST it in source.query"):
        list(hook.read(SqlSource(kind="sql", connection_id="acme__db", table="mixed", batch_rows=100),
                       cursor=None, watermark=None))


def test_an_unreachable_server_is_retryable_and_a_missing_table_fails_at_once(monkeypatch, mariadb):
    from airflow.sdk.exceptions import AirflowFailException

    from tenantflow.sources.errors import SourceUnavailable

    name = sa.engine.make_url(mariadb).database
    monkeypatch.setenv("AIRFLOW_CONN_ACME__DB", json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": 3306,
                                                            "login": "root", "schema": name}))
    hook = SqlSourceHook(tenant_id="acme", connection_id="acme__db")
    with pytest.raises(AirflowFailException, match="(?s)acme__db.*rejected the read.*nowhere"):
        list(hook.read(SqlSource(kind="sql", connection_id="acme__db", table="nowhere"), cursor=None, watermark=None))
    monkeypatch.setenv("AIRFLOW_CONN_ACME__DOWN", json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": 1,
                                                              "login": "root", "schema": name}))
    down = SqlSourceHook(tenant_id="acme", connection_id="acme__down")
    with pytest.raises(SourceUnavailable, match="acme__down"):
        list(down.read(SqlSource(kind="sql", connection_id="acme__down", table="t"), cursor=None, watermark=None))


def test_ranges_cover_every_key_once():
    assert ranges(1, 10, 3) == [(1, 5), (5, 9), (9, 11)]
    assert ranges(5, 5, 4) == [(5, 6)]
    assert ranges(-3, 2, 2) == [(-3, 0), (0, 3)]
    covered = [k for a, b in ranges(0, 9_999, 7) for k in range(a, b)]
    assert covered == list(range(10_000))


ROWS = [{"id": i, "k": None if i % 97 == 0 else i * 3, "updated": f"2026-11-{1 + i % 28:02d} 10:00:00",
         "amount": str(Decimal(i) / 100)} for i in range(1, 2_001)]


def _orders(url: str, amount_type: str) -> None:
    _run(url, f"CREATE TABLE t (id INTEGER PRIMARY KEY, k BIGINT, updated VARCHAR(19), amount {amount_type})",
         "INSERT INTO t (id, k, updated, amount) VALUES (:id, :k, :updated, :amount)", params=ROWS)


@pytest.fixture(params=["mariadb", "postgres", "sqlite"])
def orders(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'orders.db'}"
    else:
        url = request.getfixturevalue(request.param)
    _orders(url, "DECIMAL(12,2)" if request.param != "sqlite" else "REAL")
    return url


def test_a_partitioned_read_returns_every_row_once_nulls_included(orders):
    single = read(orders).sort_by("id")
    parallel = read(orders, partition_on="k", partitions=4)
    assert parallel.num_rows == single.num_rows == len(ROWS)
    assert parallel.sort_by("id").to_pylist() == single.to_pylist()
    assert parallel["k"].null_count == len([r for r in ROWS if r["k"] is None]) > 0


def test_a_partitioned_incremental_read_is_bounded_by_the_cursor_it_planned_on(orders):
    watermark = "2026-11-20 10:00:00"
    expected = sorted(r["id"] for r in ROWS if r["updated"] > watermark)
    parallel = read(orders, partition_on="k", partitions=3, cursor="updated", watermark=watermark)
    assert sorted(parallel["id"].to_pylist()) == expected
    assert max(parallel["updated"].to_pylist()) == "2026-11-28 10:00:00"
    nothing = read(orders, partition_on="k", partitions=3, cursor="updated", watermark="2026-12-31 00:00:00")
    assert nothing.num_rows == 0


def test_partitioning_on_a_text_column_is_refused_with_the_column_named(mariadb):
    from tenantflow.sources.errors import SourceQueryError

    _orders(mariadb, "DECIMAL(12,2)")
    with pytest.raises(SourceQueryError, match="partition_on 'updated' must be an integer column"):
        read(mariadb, partition_on="updated", partitions=2)
