"""JSON REST API sources: the tenant's HTTP hook (base URL and auth) and the paginated reader.

``HttpSourceHook`` is the http provider's ``HttpHook`` on the tenant's own connection. Connection
fields: host (with or without scheme), schema (http/https, default https), port, login/password;
extra ``auth_type``: ``bearer`` (token = password), ``basic`` (login/password), ``api_key`` (header
``api_key_header``, default X-API-Key, value = password) or ``none``. Without ``auth_type``: a password
alone is a bearer token, a login makes it basic auth, neither is no auth.

Each page's records (found at ``records_path`` inside the JSON body) become one Arrow table; nested
objects become structs, so the schema is inferred from the data. Requests are retried with tenacity
on 429, 5xx and transport errors: as long as a ``Retry-After`` header says (seconds or an HTTP date,
RFC 9110), else exponential backoff with full jitter; every wait is capped at ``max_backoff_seconds``
and there are at most ``retries`` retries.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin

from airflow.providers.http.hooks.http import HttpHook

from tenantflow.config.models import HttpSource
from tenantflow.isolation.guards import require_own_connection
from tenantflow.sources.base import ExtractRequest, SourceRead, after_watermark_if_needed

if TYPE_CHECKING:
    import httpx
    import pyarrow as pa
    from tenacity import RetryCallState

log = logging.getLogger(__name__)
# 501 Not Implemented and 505 HTTP Version Not Supported are answers, not outages
NOT_TRANSIENT_5XX = {501, 505}


class RetryPolicyFields(Protocol):
    """The retry settings HTTP-based sources share (HttpSource, GraphQLSource)."""

    @property
    def retries(self) -> int: ...
    @property
    def backoff_seconds(self) -> float: ...
    @property
    def max_backoff_seconds(self) -> float: ...


class HttpSourceError(RuntimeError):
    """The API answered in a way no retry can fix; the message names the URL and the problem."""


class _Transient(Exception):
    """A failed attempt worth retrying (429, 5xx, transport error); ``retry_after`` as the server asked."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class HttpAuth:
    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None


class HttpSourceHook(HttpHook):
    hook_name = "tenantflow REST API source"
    http_method = "GET"

    def __init__(self, *, tenant_id: str, connection_id: str, **kwargs: Any) -> None:
        require_own_connection(tenant_id, connection_id)  # before anything reads the connection
        super().__init__(method=self.http_method, http_conn_id=connection_id, **kwargs)
        self.tenant_id, self.connection_id = tenant_id, connection_id

    def base_url_and_auth(self) -> tuple[str, HttpAuth]:
        conn = self.get_connection(self.http_conn_id)
        host = conn.host or ""
        if "://" not in host:
            scheme = conn.schema or "https"  # HttpHook would default to http: an API key must not travel plain
            host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        extra = conn.extra_dejson
        kind = extra.get("auth_type", "bearer" if conn.password and not conn.login else "basic" if conn.login
                         else "none")
        if kind == "bearer":
            return host, HttpAuth(headers={"Authorization": f"Bearer {conn.password}"})
        if kind == "basic":
            return host, HttpAuth(basic=(conn.login or "", conn.password or ""))
        if kind == "api_key":
            return host, HttpAuth(headers={extra.get("api_key_header", "X-API-Key"): conn.password or ""})
        return host, HttpAuth()

    def read(self, source: HttpSource) -> Iterator[pa.Table]:
        base_url, auth = self.base_url_and_auth()
        yield from HttpReader(base_url, source, auth).pages()

    def extract(self, request: ExtractRequest) -> SourceRead:
        source = request.source
        if not isinstance(source, HttpSource):
            raise TypeError(f"{type(self).__name__} reads http sources, not {source.kind!r}")
        tables = after_watermark_if_needed(self.read(source), request)
        return SourceRead(tables, f"{source.connection_id}:{source.path}")


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 10.2.3); None if invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        log.warning("ignoring a Retry-After header that is neither seconds nor an HTTP date: %r", value)
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; the obsolete formats parse without a zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def is_transient(status: int) -> bool:
    return status == 429 or (500 <= status < 600 and status not in NOT_TRANSIENT_5XX)


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


class RetryingSender:
    """Sends one request with the source's retry policy (``retries``, ``backoff_seconds``, ``max_backoff_seconds``).

    429, 5xx (but 501/505) and transport errors are retried; any other answer, an error or not, is returned
    for the reader to judge. Shared by the REST and GraphQL readers.
    """

    def __init__(
        self, policy: RetryPolicyFields, *, sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.policy, self.sleep, self.jitter = policy, sleep, jitter

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: Retry-After if the server sent one, else full-jitter backoff; capped."""
        cap = self.policy.max_backoff_seconds
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, cap)
        return self.jitter(0.0, min(self.policy.backoff_seconds * 2 ** (state.attempt_number - 1), cap))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        asked = isinstance(error, _Transient) and error.retry_after is not None
        log.warning("%s (attempt %d of %d); retrying in %.1fs%s", error, state.attempt_number,
                    self.policy.retries + 1, delay, " as the server asks (Retry-After)" if asked else "")

    @staticmethod
    def _attempt(send: Callable[[], httpx.Response], url: str) -> httpx.Response:
        import httpx

        try:
            response = send()
        except httpx.TransportError as exc:
            raise _Transient(f"{url}: {type(exc).__name__}: {exc}") from exc
        if is_transient(response.status_code):
            raise _Transient(f"{response.request.url}: HTTP {response.status_code}",
                             retry_after_seconds(response.headers.get("Retry-After")))
        return response

    def send(self, send: Callable[[], httpx.Response], url: str) -> httpx.Response:
        """``send()``'s first answer that is not transient; HttpSourceError once the attempts are spent."""
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

        attempts = self.policy.retries + 1
        retrying = Retrying(stop=stop_after_attempt(attempts), wait=self._wait, sleep=self.sleep,
                            retry=retry_if_exception_type(_Transient), before_sleep=self._log_retry, reraise=True)
        try:
            return retrying(self._attempt, send, url)
        except _Transient as exc:
            raise HttpSourceError(f"{exc}: still failing after {attempts} attempts") from exc.__cause__


class HttpReader:
    def __init__(
        self, base_url: str, source: HttpSource, auth: HttpAuth, *, sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.base_url, self.source, self.auth = base_url, source, auth
        self.sender = RetryingSender(source, sleep=sleep, jitter=jitter)

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any]) -> httpx.Response:
        # params=None keeps a query already in the URL (a Link header's next page)
        response = self.sender.send(lambda: client.get(url, params=params or None), url)
        if response.is_error:
            raise HttpSourceError(f"{response.request.url}: HTTP {response.status_code}: {response.text[:200]}")
        return response

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
