"""The dialect-compiled metadata-DB expressions on SQLite (the demo's metadata DB); PostgreSQL is covered by
tests/dashboard/test_queries.py and tests/usage/test_usage_command.py."""

from __future__ import annotations

import json

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from tenantflow.metadata_sql import tenant_of, utc_day, xcom_field


def test_tenant_day_and_xcom_field_on_sqlite():
    metadata = MetaData()
    t = Table("t", metadata, Column("id", Integer, primary_key=True), Column("dag_id", String),
              Column("ts", String), Column("value", String))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(t), [
            {"dag_id": "finance__orders", "ts": "2026-12-03 23:59:00", "value": json.dumps(json.dumps({"rows": 5}))},
            {"dag_id": "retail__sales__v2", "ts": "2026-12-04 00:00:01", "value": json.dumps({"rows": 7})},
        ])
        got = conn.execute(select(tenant_of(t.c.dag_id), utc_day(t.c.ts), xcom_field(t.c.value, "rows"))
                           .order_by(t.c.id)).all()
    assert [tuple(r) for r in got] == [("finance", "2026-12-03", 5), ("retail", "2026-12-04", 7)]
