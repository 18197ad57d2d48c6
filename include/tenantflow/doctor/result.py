"""What one doctor check found: a status, what was checked, and what to do when it is not OK."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class CheckResult:
    status: Status
    check: str  # isolation | source | databricks | pii key | connection | landing | catalog
    subject: str  # the connection id, location or namespace checked
    detail: str  # what was checked and what was found
    hint: str = ""  # what to do (FAIL and WARN)
    pipelines: tuple[str, ...] = ()  # the pipelines that need it

    def as_dict(self) -> dict[str, object]:
        return {"status": str(self.status), "check": self.check, "subject": self.subject, "detail": self.detail,
                "hint": self.hint, "pipelines": list(self.pipelines)}


@dataclass(frozen=True)
class Probe:
    """The outcome of probing one thing; the runner adds check name, subject and pipelines."""

    status: Status
    detail: str
    hint: str = ""


def create_connection_hint(connection_id: str, what: str) -> str:
    return (f"create the Airflow connection `{connection_id}` ({what}) in Admin → Connections, or the secrets "
            f"backend path airflow/connections/{connection_id}")


def error_text(exc: BaseException, limit: int = 300) -> str:
    """One line naming the error: drivers put the useful part first, SQLAlchemy appends a background link."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.split(" (Background on this error at:")[0]
    return f"{type(exc).__name__}: {text[:limit]}"
