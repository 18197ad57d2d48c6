"""Secrets the doctor has seen (connection passwords, extra fields), scrubbed from everything it prints or logs.

Checks pass error messages on (a driver's, an API's response body); any of them may quote a token.
Every connection the doctor looks up registers its password and extra values here first.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any, TextIO

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
    def scrubbing_output(self) -> Iterator[None]:
        """While checking: log records of the root logger's handlers are scrubbed (hooks log failed requests
        with their body), and what is printed to stdout (Airflow's structlog loggers, warnings) goes to
        stderr, scrubbed: stdout is the report."""
        log_filter = _ScrubFilter(self)
        handlers = list(logging.getLogger().handlers)
        for handler in handlers:
            handler.addFilter(log_filter)
        try:
            with redirect_stdout(_ScrubbingStream(sys.stderr, self)):
                yield
        finally:
            for handler in handlers:
                handler.removeFilter(log_filter)


class _ScrubbingStream(io.TextIOBase):
    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self.target, self.redactor = target, redactor

    def write(self, text: str) -> int:
        self.target.write(self.redactor.scrub(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


class _ScrubFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self.redactor.scrub
        if isinstance(record.msg, dict):  # a structlog event dict (Airflow's handlers): scrub its texts
            record.msg = {k: scrub(v) if isinstance(v, str) else v for k, v in record.msg.items()}
        else:
            record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True
