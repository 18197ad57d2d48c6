"""SQL expressions over Airflow's metadata DB, compiled per dialect (PostgreSQL in production, SQLite in the
demo, MySQL/MariaDB where Airflow runs on it), so the database groups the rows: the chargeback's usage
queries and the Tenants dashboard both group by them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenantflow import naming

_SEP = f"'{naming.SEPARATOR}'"


def _args(element: Any, compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


class tenant_of(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """The tenant id of a DAG id ``<tenant>__<pipeline>`` (the part before the first ``__``)."""

    type = String()
    inherit_cache = True
    name = "tenant_of"


@compiles(tenant_of)
def _tenant_of_default(element: tenant_of, compiler: Any, **kw: Any) -> str:
    (dag_id,) = _args(element, compiler, **kw)
    return f"substr({dag_id}, 1, instr({dag_id}, {_SEP}) - 1)"


@compiles(tenant_of, "postgresql")
def _tenant_of_pg(element: tenant_of, compiler: Any, **kw: Any) -> str:
    (dag_id,) = _args(element, compiler, **kw)
    return f"split_part({dag_id}, {_SEP}, 1)"


@compiles(tenant_of, "mysql")
def _tenant_of_mysql(element: tenant_of, compiler: Any, **kw: Any) -> str:
    (dag_id,) = _args(element, compiler, **kw)
    return f"substring_index({dag_id}, {_SEP}, 1)"


class utc_day(FunctionElement):  # noqa: N801
    """``YYYY-MM-DD`` of a UTC timestamp, whatever the session's time zone."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: Any, **kw: Any) -> str:
    (moment,) = _args(element, compiler, **kw)
    return f"strftime('%Y-%m-%d', {moment})"  # Airflow stores UTC on SQLite


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: Any, **kw: Any) -> str:
    (moment,) = _args(element, compiler, **kw)
    return f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day, "mysql")
def _utc_day_mysql(element: utc_day, compiler: Any, **kw: Any) -> str:
    (moment,) = _args(element, compiler, **kw)
    return f"DATE_FORMAT({moment}, '%Y-%m-%d')"  # Airflow stores UTC


class seconds_between(FunctionElement):  # noqa: N801
    """Seconds from the first timestamp to the second."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    # julianday is a double of ~2.46e6 days: its last bits are ~50 us, so round to the millisecond
    return f"round((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "mysql")
def _seconds_mysql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"


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


@compiles(xcom_field)
def _xcom_field_default(element: xcom_field, compiler: Any, **kw: Any) -> str:
    (column,) = _args(element, compiler, **kw)
    return f"json_extract(json_extract({column}, '$'), '$.{element.key}')"


@compiles(xcom_field, "postgresql")
def _xcom_field_pg(element: xcom_field, compiler: Any, **kw: Any) -> str:
    (column,) = _args(element, compiler, **kw)
    return f"(({column} #>> '{{}}')::jsonb ->> '{element.key}')"
