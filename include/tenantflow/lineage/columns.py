"""Column lineage of a transform: which relation columns each output column is computed from.

From the sqlglot parse of the transform's Spark SQL (``sqlglot.lineage``), as written: ``batch`` is the
run's landed rows, every other relation a lookup. With the input columns known (the landed batch's
schema, recorded by the run), ``SELECT *`` and unqualified columns resolve too; without them such
columns are left out rather than guessed.

Each output column gets its DIRECT inputs (``IDENTITY`` when it is the input column as it is,
``AGGREGATION`` under an aggregate function, else ``TRANSFORMATION``); the columns the query filters,
joins, groups or sorts on are the INDIRECT inputs of the whole dataset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# clause -> the INDIRECT subtype of the columns it reads
INDIRECT_CLAUSES = {"where": "FILTER", "joins": "JOIN", "group": "GROUP_BY", "order": "SORT", "having": "FILTER"}


@dataclass(frozen=True, order=True)
class SourceColumn:
    relation: str  # 'batch' or a lookup name
    column: str


@dataclass(frozen=True)
class ColumnLineage:
    direct: dict[str, tuple[str, tuple[SourceColumn, ...]]]
    """output column -> (subtype IDENTITY | TRANSFORMATION | AGGREGATION, its input columns)"""
    indirect: dict[str, tuple[SourceColumn, ...]]
    """subtype FILTER | JOIN | GROUP_BY | SORT -> the input columns of that clause"""


def column_lineage(sql: str, relations: Mapping[str, Sequence[str]] | None = None) -> ColumnLineage:
    """Column lineage of one Spark SQL query; ``relations``: relation -> its columns, where known."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage

    query = sqlglot.parse_one(sql, read="spark")
    schema = {name: {column: "string" for column in columns} for name, columns in (relations or {}).items()}
    if schema:
        from sqlglot.errors import OptimizeError
        from sqlglot.optimizer.qualify import qualify

        try:
            query = qualify(query, schema=schema, dialect="spark", validate_qualify_columns=False)
        except OptimizeError:  # the recorded columns do not fit the query: use the query as written
            schema = {}
    selects = {s.alias_or_name: s for s in query.selects}
    direct: dict[str, tuple[str, tuple[SourceColumn, ...]]] = {}
    for output in query.named_selects:
        node = lineage(output, query, schema or None, dialect="spark")
        inputs = sorted({c for leaf in node.walk() if not leaf.downstream and (c := _source_column(leaf, exp))})
        expression = selects[output].unalias() if output in selects else None
        direct[output] = (_subtype(expression, exp), tuple(inputs))
    return ColumnLineage(direct, _indirect(query, exp))


def _source_column(leaf, exp) -> SourceColumn | None:
    """The relation column a lineage leaf reads (None for ``*`` of an unknown schema or an unresolved name)."""
    if not isinstance(leaf.source, exp.Table):
        return None
    column = leaf.name.rsplit(".", 1)[-1].strip('"`')  # qualified names come back quoted
    return None if column == "*" else SourceColumn(leaf.source.name.lower(), column)


def _subtype(expression, exp) -> str:
    if isinstance(expression, exp.Column):
        return "IDENTITY"
    if expression is not None and expression.find(exp.AggFunc) is not None:
        return "AGGREGATION"
    return "TRANSFORMATION"


def _indirect(query, exp) -> dict[str, tuple[SourceColumn, ...]]:
    """Columns read by the outer query's clauses, resolved through the FROM/JOIN aliases to relations.

    A clause over a CTE's columns is left out (they are not the relation's own columns)."""
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    aliases = {t.alias_or_name.lower(): t.name.lower() for t in query.find_all(exp.Table) if t.name.lower() not in ctes}
    single = next(iter(aliases.values())) if not ctes and len(set(aliases.values())) == 1 else None
    found: dict[str, set[SourceColumn]] = {}
    for clause, subtype in INDIRECT_CLAUSES.items():
        parts = query.args.get(clause)
        for part in parts if isinstance(parts, list) else [parts] if parts is not None else []:
            part = part.args.get("on") if clause == "joins" else part
            for column in part.find_all(exp.Column) if part is not None else ():
                relation = aliases.get(column.table.lower()) if column.table else single
                relation = None if column.table.lower() in ctes else relation
                if relation is not None:
                    found.setdefault(subtype, set()).add(SourceColumn(relation, column.name))
    return {subtype: tuple(sorted(columns)) for subtype, columns in sorted(found.items())}
