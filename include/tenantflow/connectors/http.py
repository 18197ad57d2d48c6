"""JSON REST API sources: pagination, auth from the tenant's connection, 429/Retry-After and retries.

Each page's records (found at ``records_path`` inside the JSON body) become one Arrow table;
nested objects become structs, so the schema is inferred from the data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from tenantflow.config.models import HttpSource

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa

log = logging.getLogger(__name__)
RETRY_STATUS = {429, 500, 502, 503, 504}


class HttpSourceError(RuntimeError):
    """The API answered in a way no retry can fix; the message names the URL and the problem."""


@dataclass(frozen=True)
class HttpAuth:
    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None


def records_at(body: Any, path: str | None, url: str) -> list[dict[str, Any]]:
    node = body
    for step in (path.split(".") if path else []):
        if not isinstance(node, dict) or step not in node:
            raise HttpSourceError(f"{url}: records_path {path!r} not found in the response (missing {step!r})")
        node = node[step]
    if not isinstance(node, list) or not all(isinstance(r, dict) for r in node):
        raise HttpSourceError(f"{url}: records_path {path!r} must lead to a list of objects")
    return node


def _dig(body: Any, path: str) -> Any:
    for step in path.split("."):
        body = body.get(step) if isinstance(body, dict) else None
    return body


class HttpReader:
    def __init__(self, base_url: str, source: HttpSource, auth: HttpAuth, *, sleep=time.sleep) -> None:
        self.base_url, self.source, self.auth, self.sleep = base_url, source, auth, sleep

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any]) -> httpx.Response:
        import httpx

        for attempt in range(self.source.retries + 1):
            try:
                # params=None keeps a query already in the URL (a Link header's next page)
                response = client.get(url, params=params or None)
            except httpx.TransportError as exc:
                error = f"{url}: {type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRY_STATUS:
                    if response.is_error:
                        raise HttpSourceError(f"{response.request.url}: HTTP {response.status_code}: "
                                              f"{response.text[:200]}")
                    return response
                error = f"{response.request.url}: HTTP {response.status_code}"
                if response.status_code == 429 and response.headers.get("Retry-After", "").isdigit():
                    delay = float(response.headers["Retry-After"])
                    log.info("%s; waiting %.0fs as the server asks", error, delay)
                    self.sleep(min(delay, self.source.max_backoff_seconds))
                    continue
            delay = min(self.source.backoff_seconds * 2**attempt, self.source.max_backoff_seconds)
            log.warning("%s (attempt %d of %d); retrying in %.1fs", error, attempt + 1, self.source.retries + 1,
                        delay)
            self.sleep(delay)
        raise HttpSourceError(f"{error}: still failing after {self.source.retries + 1} attempts")

    def pages(self) -> Iterator[pa.Table]:
        import httpx
        import pyarrow as pa

        p = self.source.pagination
        url = urljoin(self.base_url.rstrip("/") + "/", self.source.path.lstrip("/"))
        params: dict[str, Any] = dict(self.source.params)
        if p.type in ("page", "offset"):
            params[p.size_param] = p.size
        if p.type == "page":
            params[p.page_param] = p.start
        if p.type == "offset":
            params[p.offset_param] = 0
        with httpx.Client(headers=self.auth.headers, auth=self.auth.basic, timeout=self.source.timeout_seconds,
                          follow_redirects=True) as client:
            for number in range(1, p.max_pages + 1):
                response = self._get(client, url, params)
                records = records_at(response.json(), self.source.records_path, str(response.request.url))
                if records:
                    yield pa.Table.from_pylist(records)
                log.info("page %d: %d records from %s", number, len(records), response.request.url)
                next_url = self._next(response, records, params)
                if next_url is None:
                    return
                if next_url != url:
                    url, params = next_url, {}
            raise HttpSourceError(f"{url}: more than max_pages={p.max_pages} pages; raise pagination.max_pages")

    def _next(self, response: httpx.Response, records: list[dict[str, Any]], params: dict[str, Any]) -> str | None:
        """The next URL to fetch (``params`` updated in place), or None when the last page was read."""
        p = self.source.pagination
        url = str(response.request.url).split("?", 1)[0]
        if p.type == "none":
            return None
        if p.type == "link":
            link = response.links.get("next", {}).get("url")
            return urljoin(str(response.request.url), link) if link else None
        if p.type == "cursor":
            cursor = _dig(response.json(), p.cursor_path)
            if not cursor:
                return None
            params[p.cursor_param] = cursor
            return url
        if len(records) < p.size:
            return None
        if p.type == "page":
            params[p.page_param] = int(params[p.page_param]) + 1
        else:
            params[p.offset_param] = int(params[p.offset_param]) + len(records)
        return url
