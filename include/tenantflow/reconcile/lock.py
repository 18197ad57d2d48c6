"""One reconcile at a time across replicas: a lock held in (or next to) the Airflow metadata DB.

PostgreSQL: a session-level advisory lock; MySQL/MariaDB: ``GET_LOCK``; SQLite (one machine): ``flock`` on a
file next to the database. The lock lives as long as the connection, so a replica killed mid-reconcile
releases it with its connection.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "tenantflow-reconcile"


class LockBusy(RuntimeError):
    """Another process holds the reconcile lock for longer than the caller wanted to wait."""


@contextmanager
def reconcile_lock(wait_seconds: float = 60.0, *, poll_seconds: float = 0.2) -> Iterator[None]:
    from airflow import settings as airflow_settings
    from sqlalchemy import text

    engine = airflow_settings.engine
    if engine is None:  # pragma: no cover - airflow configures the ORM on import
        airflow_settings.configure_orm()
        engine = airflow_settings.engine
    dialect = engine.dialect.name
    if dialect == "sqlite":
        with _file_lock(Path(engine.url.database or "airflow.db").with_suffix(".reconcile.lock"),
                        wait_seconds, poll_seconds):
            yield
        return
    key = zlib.crc32(LOCK_NAME.encode())
    with engine.connect() as connection:
        if dialect == "postgresql":
            take, release = "SELECT pg_try_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"
        elif dialect == "mysql":
            take, release = "SELECT GET_LOCK(:name, 0)", "SELECT RELEASE_LOCK(:name)"
        else:  # pragma: no cover - Airflow supports the three above
            raise RuntimeError(f"no reconcile lock for a {dialect} metadata DB")
        params = {"key": key, "name": LOCK_NAME}
        _wait(lambda: bool(connection.execute(text(take), params).scalar()), wait_seconds, poll_seconds)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text(release), params)
            connection.commit()


@contextmanager
def _file_lock(path: Path, wait_seconds: float, poll_seconds: float) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:

        def take() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait(take, wait_seconds, poll_seconds)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait(take, wait_seconds: float, poll_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while not take():
        if time.monotonic() >= deadline:
            raise LockBusy(f"another reconcile holds the lock {LOCK_NAME!r} (waited {wait_seconds:.0f}s)")
        time.sleep(poll_seconds)
