"""SQL connector against the real PostgreSQL and MariaDB on this machine, and SQLite."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tenantflow.config.models import SqlSource
from tenantflow.isolation.guards import TenantIsolationError
from tenantflow.sources.sql import SqlSourceHook, read_sql

ROWS = [
    (1, "Zoë Müller", Decimal("10.50"), "2026-11-01 10:00:00"),
    (2, "李雷", Decimal("0.00"), "2026-11-02 11:30:00"),
    (3, None, None, "2026-11-03 09:15:00"),
]


def _server_db(admin_url: str, create: str, drop: str, url_for) -> str:
    name = f"tf_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(create.format(name=name)))
    except sa.exc.OperationalError as exc:  # pragma: no cover - the service is part of this machine
        pytest.fail(f"database server not reachable at {admin_url}: {exc}")
    yield url_for(name)
    with engine.connect() as conn:
        conn.execute(sa.text(drop.format(name=name)))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'src.db'}"
    elif request.param == "postgres":
        yield from _server_db("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                              "CREATE DATABASE {name}", "DROP DATABASE {name} WITH (FORCE)",
                              lambda n: f"postgresql+psycopg2://postgres@127.0.0.1:5432/{n}")
    else:
        yield from _server_db("mysql+pymysql://root@127.0.0.1:3306/",
                              "CREATE DATABASE {name} CHARACTER SET utf8mb4", "DROP DATABASE {name}",
                              lambda n: f"mysql+pymysql://root@127.0.0.1:3306/{n}?charset=utf8mb4")


@pytest.fixture
def orders_url(database):
    engine = sa.create_engine(database)
    meta = sa.MetaData()
    table = sa.Table("orders", meta, sa.Column("order_id", sa.Integer, primary_key=True),
                     sa.Column("customer", sa.String(100)), sa.Column("amount", sa.Numeric(10, 2)),
                     sa.Column("updated_at", sa.String(19)))
    meta.create_all(engine)
    with engine.begin() as conn:
        columns = ("order_id", "customer", "amount", "updated_at")
        conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in ROWS])
    engine.dispose()
    return database


def _read(url, **kw) -> pa.Table:
    source = SqlSource(kind="sql", connection_id="finance__db", **{"table": "orders", "batch_rows": 100, **kw})
    cursor = kw.pop("cursor", None)
    return pa.concat_tables(list(read_sql(url, source, cursor=cursor, watermark=kw.pop("watermark", None))))


def test_reads_every_row_with_types_and_unicode(orders_url):
    table = _read(orders_url).sort_by("order_id")
    assert table["order_id"].to_pylist() == [1, 2, 3]
    assert table["customer"].to_pylist() == ["Zoë Müller", "李雷", None]
    assert [None if v is None else Decimal(str(v)) for v in table["amount"].to_pylist()] == [
        Decimal("10.50"), Decimal("0.00"), None]


def test_column_selection(orders_url):
    source = SqlSource(kind="sql", connection_id="finance__db", table="orders", columns=("order_id",))
    table = pa.concat_tables(list(read_sql(orders_url, source)))
    assert table.column_names == ["order_id"]


def test_incremental_reads_only_rows_after_the_watermark(orders_url):
    source = SqlSource(kind="sql", connection_id="finance__db", table="orders")
    tables = list(read_sql(orders_url, source, cursor="updated_at", watermark="2026-11-01 10:00:00"))
    assert pa.concat_tables(tables)["order_id"].to_pylist() == [2, 3]


def test_batches_are_bounded(tmp_path):
    url = f"sqlite:///{tmp_path / 'big.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:id)"), [{"id": i} for i in range(1050)])
    source = SqlSource(kind="sql", connection_id="finance__db", table="t", batch_rows=100)
    sizes = [t.num_rows for t in read_sql(url, source)]
    assert max(sizes) <= 100 and sum(sizes) == 1050


def test_hook_resolves_the_tenants_own_airflow_connection(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__PG", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "postgres"}))
    hook = SqlSourceHook(tenant_id="finance", connection_id="finance__pg")
    url = hook.url_text()
    assert url == "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    assert hook.adbc_uri() == "postgresql://postgres@127.0.0.1:5432/postgres", "libpq URI for the ADBC fast path"
    assert hook.get_records("SELECT 1") == [(1,)], "DbApiHook's own API works on a tenant source"


def test_hook_refuses_another_tenants_connection():
    with pytest.raises(TenantIsolationError, match="tenant 'finance' may not use connection 'retail__erp'"):
        SqlSourceHook(tenant_id="finance", connection_id="retail__erp")


@pytest.mark.parametrize(
    ("conn_uri", "server"),
    [("postgres://postgres:s3cret-pw@127.0.0.1:1/test", "postgresql at 127.0.0.1:1/test"),
     ("mysql://root:s3cret-pw@127.0.0.1:1/test", "mysql at 127.0.0.1:1/test")],
    ids=["postgres", "mariadb"],
)
def test_unreachable_source_is_retryable_and_names_connection_and_server(monkeypatch, conn_uri, server):
    from airflow.sdk.exceptions import AirflowFailException

    from tenantflow.sources.errors import SourceUnavailable

    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__DOWN", conn_uri)
    hook = SqlSourceHook(tenant_id="finance", connection_id="finance__down")
    source = SqlSource(kind="sql", connection_id="finance__down", table="orders")
    with pytest.raises(SourceUnavailable) as caught:
        list(hook.read(source, cursor=None, watermark=None))
    message = str(caught.value)
    assert "'finance__down'" in message and server in message and "retried" in message
    assert "s3cret-pw" not in message
    assert not isinstance(caught.value, AirflowFailException), "Airflow retries it with the tenant's backoff"


def test_missing_table_fails_at_once_naming_the_table(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_FINANCE__PG", "postgres://postgres@127.0.0.1:5432/test")
    hook = SqlSourceHook(tenant_id="finance", connection_id="finance__pg")
    source = SqlSource(kind="sql", connection_id="finance__pg", table="no_such_table_tf")
    with pytest.raises(AirflowFailException, match=r"'finance__pg' \(postgresql at 127\.0\.0\.1:5432/test\) "
                                                   r"rejected the read: .*no_such_table_tf"):
        list(hook.read(source, cursor=None, watermark=None))
