"""The ``transform:`` block of a pipeline: one Spark SQL query over the landed batch and lookups.

The query is written once, in the Spark SQL dialect, and run by either engine (DuckDB after
transpiling locally, Spark on Databricks). It may read only the fixed relation ``batch`` (the
run's landed rows: the quality-approved batch when the quality stage published one) and the
lookup tables the pipeline names; the check runs at config validation time.
"""

from __future__ import annotations

import functools
import re

from pydantic import Field, field_validator, model_validator

from tenantflow.config.base import Model

BATCH_RELATION = "batch"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TABLE_REF = re.compile(r"^(?:[a-z][a-z0-9_]{0,62}\.)?[a-z][a-z0-9_]{0,62}$")


class SqlSyntaxError(ValueError):
    """The transform SQL does not parse or reads something it may not; ``line`` is 1-based within the SQL."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class Transform(Model):
    sql: str = Field(
        min_length=1,
        description="One Spark SQL SELECT over the relation `batch` (this run's rows) and the `lookups`.",
    )
    lookups: dict[str, str] = Field(
        default_factory=dict,
        description="Relation name -> Iceberg table of the tenant ('table' in the tenant's namespace, "
                    "or '<namespace>.table' of a namespace the tenant owns).",
    )

    @field_validator("lookups")
    @classmethod
    def _lookup_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, table in value.items():
            if not _IDENT.match(name) or name == BATCH_RELATION:
                raise ValueError(f"lookup name {name!r} must be a lower-case identifier other than "
                                 f"{BATCH_RELATION!r} (e.g. 'patients')")
            if not _TABLE_REF.match(table):
                raise ValueError(f"lookup {name!r}: table {table!r} must be 'table' or 'namespace.table' "
                                 "(lower-case identifiers)")
        return value

    @model_validator(mode="after")
    def _sql_reads_only_known_relations(self) -> Transform:
        check_sql(self.sql, frozenset({BATCH_RELATION, *self.lookups}))
        return self


def check_sql(sql: str, relations: frozenset[str]) -> None:
    """Parse ``sql`` (Spark dialect): one SELECT reading only ``relations`` (and its own CTEs)."""
    _check_sql_cached(sql, relations)


@functools.lru_cache(maxsize=256)
def _check_sql_cached(sql: str, relations: frozenset[str]) -> None:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(sql, read="spark") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, column = int(first.get("line") or 1), int(first.get("col") or 1)
        detail = str(first.get("description") or exc).split(" <Token")[0]
        if first.get("highlight"):
            detail += f" (at {first['highlight']!r})"
        raise SqlSyntaxError(f"transform SQL does not parse (Spark SQL), line {line}, column {column}: "
                             f"{detail}", line, column) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise SqlSyntaxError("transform SQL must be exactly one SELECT query (no DDL, DML or several statements)")
    query = statements[0]
    forbidden = (exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Drop, exp.Command, exp.Merge)
    if node := next(query.find_all(*forbidden), None):
        raise SqlSyntaxError(f"transform SQL may only read: {node.key.upper()} is not allowed")
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        meta = getattr(table.this, "meta", None) or {}
        at = {"line": int(meta.get("line") or 1), "column": int(meta.get("col") or 1)}
        if not isinstance(table.this, exp.Identifier):  # read_parquet('...'), range(...): not relations
            raise SqlSyntaxError(f"transform SQL may not call table function {table.sql('spark')!r}; "
                                 f"read {BATCH_RELATION!r} and the configured lookups", **at)
        name = table.name.lower()
        if table.db or table.catalog or (name not in relations and name not in ctes):
            known = ", ".join(sorted(relations))
            raise SqlSyntaxError(f"transform SQL reads {table.sql('spark')!r}, which is not a relation of this "
                                 f"pipeline; use one of: {known} (add tables to `transform.lookups`)", **at)
