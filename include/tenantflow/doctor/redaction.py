"""Secrets the doctor has seen (connection passwords, extra fields), scrubbed from everything it prints or logs.

Checks pass error messages on (a driver's, an API's response body); any of them may quote a token.
Every connection the doctor looks up registers its password and extra values here first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MASK = "***"
MIN_LENGTH = 3  # shorter values would mask ordinary words of a message


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def remember(self, value: Any) -> None:
        """A secret value (or every string inside a dict/list of them, e.g. a connection's extra)."""
        if isinstance(value, dict):
            for item in value.values():
                self.remember(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.remember(item)
        elif isinstance(value, bytes):
            self.remember(value.decode(errors="replace"))
        elif isinstance(value, str) and len(value) >= MIN_LENGTH:
            self._secrets.add(value)

    def remember_connection(self, conn: Any) -> None:
        self.remember(conn.password or "")
        self.remember(conn.extra_dejson or {})

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):  # longest first: no half-masked secrets
            text = text.replace(secret, MASK)
        return text

    @contextmanager
    def scrubbing_logs(self) -> Iterator[None]:
        """Scrub log records of the root logger's handlers (hooks log failed requests with their body)."""
        log_filter = _ScrubFilter(self)
        handlers = list(logging.getLogger().handlers)
        for handler in handlers:
            handler.addFilter(log_filter)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(log_filter)


class _ScrubFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redactor.scrub(message), None
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        return True
