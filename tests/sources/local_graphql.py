"""A local GraphQL API for the GraphQL source tests: a real schema executed by graphql-core over 2,500 orders.

``orders(first, after, status)`` is a Relay connection (edges/nodes, pageInfo, opaque base64 cursors). The
handler records each request (variables, auth header) and can be scripted per test: HTTP statuses to answer
before the real one (``Api.statuses``), order ids whose ``total`` resolver fails (a partial error, data kept),
and a cursor after which the whole ``orders`` field fails (an error with ``data: null``).
"""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from graphql import build_schema, graphql_sync

ORDERS = [{"id": i, "status": ("placed", "shipped", "cancelled")[i % 3], "total": round(i * 1.25, 2),
           "customer": {"country": ("DE", "FR", "NL", "PL")[i % 4], "tier": i % 5},
           "placedAt": f"2026-11-{1 + i % 28:02d}"} for i in range(1, 2501)]

SCHEMA = build_schema("""
type Query {
  orders(first: Int, after: String, status: String): OrderConnection!
}
type OrderConnection { edges: [OrderEdge!]!  nodes: [Order]!  pageInfo: PageInfo!  totalCount: Int! }
type OrderEdge { cursor: String!  node: Order }
type Order { id: Int!  status: String!  total: Float  customer: Customer!  placedAt: String! }
type Customer { country: String!  tier: Int! }
type PageInfo { hasNextPage: Boolean!  endCursor: String }
""")

MAX_FIRST = 500


def cursor_of(index: int) -> str:
    return base64.b64encode(f"order:{index}".encode()).decode()


def index_of(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":", 1)[1])


class Api(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []  # {"variables", "auth"} of each POST, in order
    statuses: list[int] = []  # answered (with a JSON error body) before the real answers
    broken_totals: set[int] = set()  # order ids whose `total` fails (null + an error at its path)
    fail_after: str | None = None  # the `orders` field fails for this cursor (data: null)
    token: str | None = None  # when set, a request without `Authorization: Bearer <token>` gets 401

    @classmethod
    def reset(cls) -> None:
        cls.requests, cls.statuses, cls.broken_totals, cls.fail_after, cls.token = [], [], set(), None, None

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - http.server's naming
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        Api.requests.append({"variables": payload.get("variables") or {}, "auth": self.headers.get("Authorization"),
                             "query": payload.get("query")})
        if Api.statuses:
            status = Api.statuses.pop(0)
            retry_after = {"Retry-After": "0"} if status == 429 else None
            return self._send(status, {"errors": [{"message": "busy"}]}, retry_after)
        if Api.token is not None and self.headers.get("Authorization") != f"Bearer {Api.token}":
            return self._send(401, {"errors": [{"message": "unauthenticated"}]})
        result = graphql_sync(SCHEMA, payload.get("query") or "", root_value=Root(),
                              variable_values=payload.get("variables"))
        return self._send(200, result.formatted)


def _order(order: dict[str, Any]) -> dict[str, Any]:
    if order["id"] not in Api.broken_totals:
        return order

    def total(_info: Any) -> float:
        raise ValueError(f"total of order {order['id']} is being recalculated")

    return {**order, "total": total}


class Root:
    """The query root: graphql-core's default resolver calls ``orders(info, **arguments)``."""

    def orders(self, _info: Any, first: int | None = None, after: str | None = None,
               status: str | None = None) -> dict[str, Any]:
        if after is not None and after == Api.fail_after:
            raise RuntimeError("the orders service is down")
        rows = [o for o in ORDERS if status is None or o["status"] == status]
        start = index_of(after) + 1 if after else 0
        size = min(first or MAX_FIRST, MAX_FIRST)
        page = rows[start:start + size]
        edges = [{"cursor": cursor_of(start + i), "node": _order(o)} for i, o in enumerate(page)]
        return {"edges": edges, "nodes": [e["node"] for e in edges], "totalCount": len(rows),
                "pageInfo": {"hasNextPage": start + size < len(rows),
                             "endCursor": edges[-1]["cursor"] if edges else None}}
