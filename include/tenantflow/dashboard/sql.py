"""Two SQL expressions the dashboard groups by, compiled per dialect (PostgreSQL in production, SQLite in the demo)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenantflow import naming


class tenant_of(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """The tenant id of a DAG id ``<tenant>__<pipeline>`` (the part before the first ``__``)."""

    type = String()
    inherit_cache = True
    name = "tenant_of"


class utc_day(FunctionElement):  # noqa: N801
    """``YYYY-MM-DD`` of a UTC timestamp, whatever the session's time zone."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(tenant_of, "postgresql")
def _tenant_of_pg(element: tenant_of, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"split_part({compiler.process(column, **kw)}, '{naming.SEPARATOR}', 1)"


@compiles(tenant_of)
def _tenant_of_default(element: tenant_of, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    value = compiler.process(column, **kw)
    return f"substr({value}, 1, instr({value}, '{naming.SEPARATOR}') - 1)"


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"to_char({compiler.process(column, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses  # Airflow stores UTC on SQLite
    return f"strftime('%Y-%m-%d', {compiler.process(column, **kw)})"


class xcom_field(FunctionElement):  # noqa: N801
    """One top-level field of an XCom value, as text.

    The Task SDK sends XCom values already JSON-encoded and the column is JSON(B), so a pushed dict is
    stored as a JSON *string* holding the dict's JSON; unwrapping the string first reads both that
    and a value stored as a JSON object (pushed through the REST API).
    """

    type = String()
    inherit_cache = False  # the field name is part of the SQL, not a bound parameter: never share a cache entry
    name = "xcom_field"

    def __init__(self, column: Any, key: str) -> None:
        if not key.isidentifier():
            raise ValueError(f"xcom_field: {key!r} is not a plain field name")
        self.key = key
        super().__init__(column)


@compiles(xcom_field, "postgresql")
def _xcom_field_pg(element: xcom_field, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"(({compiler.process(column, **kw)} #>> '{{}}')::jsonb ->> '{element.key}')"


@compiles(xcom_field)
def _xcom_field_default(element: xcom_field, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_extract(json_extract({compiler.process(column, **kw)}, '$'), '$.{element.key}')"
