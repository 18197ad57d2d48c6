"""GraphQL API sources (``source.kind: graphql``): one query, POSTed through the tenant's HTTP connection.

The query is parsed with graphql-core when the YAML is loaded, so a syntax error, a mutation, or a Relay
pagination whose variables the query does not declare is a config error (file:line of ``source.query``, and
line/column inside the query), not a failed run. graphql-core is imported inside the check only, and the
parse cache's re-validation skips it (``FROM_PARSE_CACHE``): a steady-state DAG parse never imports it.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, ValidationInfo, field_validator, model_validator

from tenantflow.config.base import COLUMN_TYPE_PATTERN, FROM_PARSE_CACHE, Model


class GraphQLPagination(Model):
    style: Literal["relay", "none"] = Field(
        default="none",
        description="relay: follow pageInfo { hasNextPage endCursor }, passing the cursor as $after; none: one "
                    "request.",
    )
    page_size: int = Field(default=100, ge=1, le=10_000, description="relay: the value of $first.")
    max_pages: int = Field(default=10_000, ge=1, description="relay: more pages than this fail the extract.")
    size_variable: str = Field(default="first", pattern=r"^[_A-Za-z][_0-9A-Za-z]*$",
                               description="relay: the query variable that takes the page size.")
    cursor_variable: str = Field(default="after", pattern=r"^[_A-Za-z][_0-9A-Za-z]*$",
                                 description="relay: the query variable that takes the previous page's endCursor.")


class GraphQLSource(Model):
    kind: Literal["graphql"]
    connection_id: str = Field(min_length=1, description="Tenant HTTP connection '<tenant>__<name>': base URL and "
                                                         "auth, as for http sources.")
    path: str = Field(default="/graphql", min_length=1, description="Endpoint path under the connection's base URL.")
    records_path: str = Field(
        min_length=1, pattern=r"^data(\.[_A-Za-z][_0-9A-Za-z]*)+$",
        description="Dotted path from the response to the records: a Relay connection (edges[].node or nodes) or "
                    "a list of objects, e.g. data.orders.",
    )
    pagination: GraphQLPagination = GraphQLPagination()
    variables: dict[str, JsonValue] = Field(default_factory=dict, description="Variables sent with every page.")
    # after pagination and variables: its check reads them
    query: str = Field(min_length=1, description="The GraphQL document: one query operation.")
    allow_partial_errors: bool = Field(
        default=False,
        description="A response with both `data` and `errors` loads: the errors (and the records they name) go "
                    "to the reject location with their messages. Off: any error fails the extract.",
    )
    column_types: dict[str, Annotated[str, Field(pattern=COLUMN_TYPE_PATTERN)]] = Field(
        default_factory=dict,
        description="Declared types of top-level record fields; values that do not convert are bad rows.",
    )
    on_bad_rows: Literal["fail", "reject"] = Field(
        default="fail",
        description="fail or reject records whose values do not fit `column_types` (and partial errors); default "
                    "reject with allow_partial_errors, else fail.",
    )
    max_rejected_rows: int | None = Field(
        default=None, ge=0, description="Fail the run when more rows than this are rejected."
    )
    retries: int = Field(default=5, ge=0, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _partial_errors_are_rejected_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("allow_partial_errors") is True and "on_bad_rows" not in data:
            return {**data, "on_bad_rows": "reject"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> GraphQLSource:
        if self.allow_partial_errors and self.on_bad_rows == "fail":
            raise ValueError("allow_partial_errors records GraphQL errors as rejected rows, which `on_bad_rows: "
                             "fail` forbids: remove on_bad_rows (it defaults to reject) or allow_partial_errors")
        if self.max_rejected_rows is not None and self.on_bad_rows != "reject":
            raise ValueError("max_rejected_rows applies with `on_bad_rows: reject` (or allow_partial_errors)")
        p = self.pagination
        if p.style == "relay" and {p.size_variable, p.cursor_variable} & set(self.variables):
            raise ValueError(f"variables ${p.size_variable} and ${p.cursor_variable} are set by the Relay "
                             "pagination (pagination.page_size and each page's endCursor): remove them from "
                             "`variables`")
        return self

    @field_validator("query")
    @classmethod
    def _query_fits(cls, query: str, info: ValidationInfo) -> str:
        if (info.context or {}).get(FROM_PARSE_CACHE):  # checked when the cache was written
            return query
        p = info.data.get("pagination")
        variables = info.data.get("variables")
        if p is None or variables is None:  # invalid themselves: reported on their own
            return query
        problem = query_problem(query, p.style, p.size_variable, p.cursor_variable, tuple(sorted(variables)))
        if problem:
            raise ValueError(problem)
        return query


@functools.lru_cache(maxsize=256)
def query_problem(query: str, style: str, size_variable: str, cursor_variable: str,
                  given: tuple[str, ...]) -> str | None:
    """What is wrong with ``query`` for this source (None: nothing), saying where in the query and what is right."""
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
    from graphql.language import NonNullTypeNode

    try:
        document = parse(query, no_location=False)
    except GraphQLSyntaxError as exc:
        where = ""
        if exc.locations:
            line, column = exc.locations[0].line, exc.locations[0].column
            text = query.splitlines()[line - 1].strip() if 0 < line <= len(query.splitlines()) else ""
            where = f" at line {line}, column {column} of the query" + (f" (`{text}`)" if text else " (its end)")
        return f"source.query is not a valid GraphQL document{where}: {exc.message}"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return (f"source.query must hold exactly one operation (found {len(operations)}); fragments may go with "
                "it, other operations go in a pipeline of their own")
    (operation,) = operations
    if operation.operation != OperationType.QUERY:
        kind = operation.operation.value
        return (f"source.query is a {kind}; a source only reads: use a `query` operation"
                + (" (subscriptions are not supported)" if kind == "subscription" else ""))
    declared = {v.variable.name.value: v for v in operation.variable_definitions or ()}
    name = operation.name.value if operation.name else "Records"
    if style == "relay":
        missing = [v for v in (size_variable, cursor_variable) if v not in declared]
        if missing:
            return (f"pagination.style relay passes the page size as ${size_variable} and the cursor as "
                    f"${cursor_variable}, but the query declares no {', '.join('$' + v for v in missing)}: declare "
                    f"and use them, e.g. `query {name}(${size_variable}: Int!, ${cursor_variable}: String) "
                    f"{{ orders({size_variable}: ${size_variable}, {cursor_variable}: ${cursor_variable}) "
                    "{ ... } }`")
        if isinstance(declared[cursor_variable].type, NonNullTypeNode):
            return (f"${cursor_variable} must be nullable (e.g. String, not String!): the first page is asked "
                    "without a cursor")
    paginated = {size_variable, cursor_variable} if style == "relay" else set()
    unknown = sorted(set(given) - set(declared))
    if unknown:
        return (f"`variables` sets {', '.join('$' + v for v in unknown)}, which the query does not declare "
                f"(it declares: {', '.join('$' + v for v in declared) or 'none'})")
    required = sorted(v for v, d in declared.items() if isinstance(d.type, NonNullTypeNode)
                      and d.default_value is None and v not in given and v not in paginated)
    if required:
        return (f"the query requires {', '.join('$' + v for v in required)} (non-null, no default): set "
                "them in `variables`")
    return None
