"""GraphQL API sources: the tenant's HTTP hook POSTing one query, page after page (Relay cursors).

``GraphQLSourceHook`` is the REST source's hook (the http provider's ``HttpHook`` on the tenant's own
connection: base URL and auth exactly as for ``kind: http``), sending ``{"query", "variables"}`` as JSON.
Requests are retried by the REST source's ``RetryingSender`` (429, 5xx, transport errors; Retry-After).

Records are found at ``records_path``: a Relay connection (``edges[].node`` or ``nodes``) or a list of
objects; like REST records, nested objects become structs. With ``pagination.style: relay`` each next page
is asked with ``$after`` = the previous ``pageInfo.endCursor`` while ``pageInfo.hasNextPage`` is true.

A response with ``errors`` fails the extract with the GraphQL messages and paths (the run lands nothing:
the batch is only published after the whole read succeeded). With ``allow_partial_errors`` and ``data``
present, the errors are rejected rows instead: a record an error's path points into is rejected with the
message (not loaded with a null that stands for an error), an error outside the records is recorded alone.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from tenantflow.config.graphql import GraphQLSource
from tenantflow.sources.bad_rows import BadRows
from tenantflow.sources.base import ExtractRequest, SourceRead, after_watermark_if_needed
from tenantflow.sources.http import HttpAuth, HttpSourceError, HttpSourceHook, RetryingSender

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

log = logging.getLogger(__name__)
MESSAGES_SHOWN = 5  # an error names at most this many GraphQL errors (then "and N more")


class GraphQLSourceError(HttpSourceError):
    """The GraphQL API answered with errors (or an answer no retry can fix); the message has its messages."""


def endpoint_url(base_url: str, path: str) -> str:
    return urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))


class GraphQLSourceHook(HttpSourceHook):
    hook_name = "tenantflow GraphQL API source"
    http_method = "POST"

    def read(self, source: GraphQLSource, bad_rows: BadRows | None = None) -> Iterator[pa.Table]:
        base_url, auth = self.base_url_and_auth()
        yield from GraphQLReader(base_url, source, auth, bad_rows=bad_rows).pages()

    def extract(self, request: ExtractRequest) -> SourceRead:
        source = request.source
        if not isinstance(source, GraphQLSource):
            raise TypeError(f"{type(self).__name__} reads graphql sources, not {source.kind!r}")
        tables = after_watermark_if_needed(self.read(source, request.bad_rows), request)
        return SourceRead(tables, f"{source.connection_id}:{source.path}")


def _describe(error: Any) -> str:
    if not isinstance(error, dict):
        return repr(error)
    text = str(error.get("message", "(no message)"))
    if error.get("path"):
        text += f" (path {'.'.join(map(str, error['path']))})"
    elif error.get("locations"):
        where = error["locations"][0]
        text += f" (line {where.get('line')}, column {where.get('column')} of the query)"
    return text


def describe_errors(errors: list[Any]) -> str:
    shown = "; ".join(_describe(e) for e in errors[:MESSAGES_SHOWN])
    more = f"; and {len(errors) - MESSAGES_SHOWN} more" if len(errors) > MESSAGES_SHOWN else ""
    return f"{len(errors)} GraphQL error(s): {shown}{more}"


class GraphQLReader:
    def __init__(
        self, base_url: str, source: GraphQLSource, auth: HttpAuth, *, bad_rows: BadRows | None = None,
        sleep: Callable[[float], None] = time.sleep, jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.url, self.source, self.auth = endpoint_url(base_url, source.path), source, auth
        self.bad_rows = bad_rows if bad_rows is not None else BadRows(source.on_bad_rows, source.max_rejected_rows)
        self.sender = RetryingSender(source, sleep=sleep, jitter=jitter)
        self.steps = source.records_path.split(".")[1:]  # response keys under `data`

    def _post(self, client: httpx.Client, variables: dict[str, Any], page: str) -> dict[str, Any]:
        payload = {"query": self.source.query, "variables": variables}
        response = self.sender.send(lambda: client.post(self.url, json=payload), self.url)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            errors = body.get("errors") if isinstance(body, dict) else None
            detail = describe_errors(errors) if isinstance(errors, list) and errors else response.text[:200]
            raise GraphQLSourceError(f"{page}: HTTP {response.status_code}: {detail}")
        if not isinstance(body, dict):
            raise GraphQLSourceError(f"{page}: the answer is not a JSON object (HTTP {response.status_code}, "
                                     f"{response.headers.get('Content-Type', 'no content type')})")
        return body

    def _connection(self, data: Any, page: str) -> Any:
        node = data
        for depth, step in enumerate(self.steps):
            if not isinstance(node, dict) or step not in node:
                raise GraphQLSourceError(f"{page}: records_path {self.source.records_path!r} not found in the "
                                         f"response (missing {'.'.join(['data', *self.steps[:depth + 1]])!r})")
            node = node[step]
        return node

    def _records(self, connection: Any, page: str) -> list[Any]:
        if isinstance(connection, list):
            return connection
        if isinstance(connection, dict) and isinstance(connection.get("edges"), list):
            return [edge.get("node") if isinstance(edge, dict) else None for edge in connection["edges"]]
        if isinstance(connection, dict) and isinstance(connection.get("nodes"), list):
            return connection["nodes"]
        raise GraphQLSourceError(f"{page}: records_path {self.source.records_path!r} must lead to a Relay "
                                 "connection (select `edges { node { ... } }` or `nodes { ... }`) or a list")

    def _record_of(self, error: Any) -> tuple[int | None, str | None]:
        """(index of the page's record ``error``'s path points into, the field inside it) or (None, None)."""
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(path, list) or path[:len(self.steps)] != self.steps:
            return None, None
        rest = path[len(self.steps):]
        if rest[:1] in (["edges"], ["nodes"]):
            rest = rest[1:]
        if not rest or not isinstance(rest[0], int):
            return None, None
        inside = rest[1:]
        if inside[:1] == ["node"]:
            inside = inside[1:]
        return rest[0], ".".join(map(str, inside)) or None

    def _partial(self, errors: list[Any], records: list[Any], page: str) -> set[int]:
        """Record the errors as rejected rows; the indices of the records they reject."""
        rejected: set[int] = set()
        for error in errors:
            index, field = self._record_of(error)
            message = error.get("message", "(no message)") if isinstance(error, dict) else repr(error)
            if index is not None and index < len(records):
                rejected.add(index)
                self.bad_rows.add(page, index + 1, f"GraphQL error: {message}",
                                  json.dumps(records[index], default=str), field)
            else:
                self.bad_rows.add(page, None, f"GraphQL error: {_describe(error)}", json.dumps(error, default=str))
        return rejected

    def pages(self) -> Iterator[pa.Table]:
        import httpx
        import pyarrow as pa

        p, source = self.source.pagination, self.source
        relay = p.style == "relay"
        variables: dict[str, Any] = dict(source.variables)
        if relay:
            variables[p.size_variable] = p.page_size
            variables[p.cursor_variable] = None
        with httpx.Client(headers=self.auth.headers, auth=self.auth.basic, timeout=source.timeout_seconds,
                          follow_redirects=True) as client:
            for number in range(1, (p.max_pages if relay else 1) + 1):
                page = f"{self.url} page {number}"
                body = self._post(client, variables, page)
                errors, data = body.get("errors") or [], body.get("data")
                if errors and (not source.allow_partial_errors or data is None):
                    hint = "" if source.allow_partial_errors else \
                        " (nothing was loaded; allow_partial_errors: true loads the data and rejects the errors)"
                    raise GraphQLSourceError(f"{page}: {describe_errors(errors)}{hint}")
                connection = self._connection(data, page)
                records = self._records(connection, page)
                rejected = self._partial(errors, records, page) if errors else set()
                kept = [r for i, r in enumerate(records) if i not in rejected]
                if not all(isinstance(r, dict) for r in kept):
                    raise GraphQLSourceError(f"{page}: records_path {source.records_path!r} holds a null or a "
                                             "non-object record that no error explains")
                if kept:
                    yield self._table(pa.Table.from_pylist(kept), page, sorted(i + 1 for i in rejected))
                log.info("page %d: %d records from %s%s", number, len(kept), self.url,
                         f" ({len(rejected)} rejected: GraphQL errors)" if rejected else "")
                if not relay:
                    return
                cursor = self._next_cursor(connection, page, variables[p.cursor_variable])
                if cursor is None:
                    return
                variables[p.cursor_variable] = cursor
            raise GraphQLSourceError(f"{self.url}: more than max_pages={p.max_pages} pages "
                                     f"(of {p.page_size} records); raise pagination.max_pages")

    def _table(self, table: pa.Table, page: str, skipped: list[int]) -> pa.Table:
        if not self.source.column_types:
            return table
        from tenantflow.sources.column_types import apply_column_types

        return apply_column_types(table, self.source.column_types, file=page, first_row=1,
                                  bad_rows=self.bad_rows, skipped=skipped)

    def _next_cursor(self, connection: Any, page: str, previous: str | None) -> str | None:
        info = connection.get("pageInfo") if isinstance(connection, dict) else None
        if not isinstance(info, dict) or "hasNextPage" not in info or "endCursor" not in info:
            raise GraphQLSourceError(f"{page}: relay pagination needs `pageInfo {{ hasNextPage endCursor }}` "
                                     f"selected on {self.source.records_path!r}")
        if not info["hasNextPage"]:
            return None
        cursor = info["endCursor"]
        if not cursor or cursor == previous:
            raise GraphQLSourceError(f"{page}: hasNextPage is true but endCursor is {cursor!r} (the same as the "
                                     "page before, or none): the API does not move on")
        return str(cursor)
