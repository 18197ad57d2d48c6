"""Source failures as errors a data engineer can act on, split into retryable and not.

``SourceUnavailable`` (cannot connect, connection dropped, timeouts) is left to Airflow's retries with
the tenant's backoff policy; ``SourceQueryError`` (missing table or column, bad SQL, permission denied)
fails the task at once, since the same query fails again. Messages name the connection id and the
server, never the password.
"""

from __future__ import annotations

import re
from typing import Any


class SourceUnavailable(ConnectionError):
    """The source could not be reached; retried by Airflow with the tenant's backoff."""


class SourceQueryError(ValueError):
    """The source rejected the read (missing table/column, SQL error, permission); retrying cannot help."""


_UNAVAILABLE = ("OperationalError", "InterfaceError", "TimeoutError", "ConnectionError", "IOError")
_QUERY = ("ProgrammingError", "IntegrityError", "DataError", "NotSupportedError")


def classify_sql_error(exc: BaseException, connection_id: str, url: str) -> Exception | None:
    """The user-facing error for a driver/SQLAlchemy exception, or None when it is not a source error."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    server = server_of(url)
    reason = _first_line(exc)
    if names & set(_UNAVAILABLE) or isinstance(exc, OSError):
        return SourceUnavailable(f"source connection {connection_id!r} ({server}) is unavailable: {reason}; "
                                 "the task is retried with the tenant's retry policy")
    if names & set(_QUERY):
        return SourceQueryError(f"source connection {connection_id!r} ({server}) rejected the read: {reason}; "
                                "check source.table / source.query / source.columns")
    return None


def server_of(url: str) -> str:
    """Where a URL points (backend, host, database), never its login."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite {parsed.database}"
    where = f"{parsed.host or 'localhost'}{f':{parsed.port}' if parsed.port else ''}"
    return f"{parsed.get_backend_name()} at {where}/{parsed.database or ''}"


def _first_line(exc: Any) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    text = re.sub(r"\(Background on this error at: [^)]*\)", "", text)
    text = re.sub(r"://[^:@/\s]+:[^@/\s]+@", "://***@", text)  # never echo a password from a URL
    return " ".join(text.split())[:300]
