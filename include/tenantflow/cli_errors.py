"""How the ``tenantflow`` command fails: one line naming the problem and the fix, and an exit code —
never a traceback for what a user can cause (an unmigrated or unreachable metadata DB, a missing config dir)."""

from __future__ import annotations

from tenantflow.config.loader import PLATFORM_FILE
from tenantflow.settings import Settings

CONFIG_FREE_COMMANDS = frozenset({"schema", "roles", "validate"})
"""Commands that run without the config dir (``validate`` names its own when given a path)."""

_PG_UNDEFINED_TABLE = "42P01"
_MYSQL_NO_SUCH_TABLE = 1146


class CommandFailed(RuntimeError):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_config_dir(settings: Settings) -> None:
    root = settings.config_dir
    if not root.is_dir():
        raise CommandFailed(f"config dir {root} does not exist (set [tenantflow] config_dir in airflow.cfg or "
                            "AIRFLOW__TENANTFLOW__CONFIG_DIR to your tenant_configs folder)")
    if not (root / PLATFORM_FILE).is_file():
        raise CommandFailed(f"config dir {root} has no {PLATFORM_FILE}: is it the tenant_configs folder?")


def explain(exc: BaseException) -> str | None:
    """The one-line explanation of a failure a user can fix, or None for a bug (shown with its traceback)."""
    from tenantflow.reconcile.lock import LockBusy
    from tenantflow.reconcile.run import ConfigTreeMissing

    if isinstance(exc, ConfigTreeMissing | LockBusy):
        return str(exc)
    database = _database_error(exc)
    if database is not None:
        text = " ".join(str(getattr(database, "orig", None) or database).split())
        where = _metadata_db()
        if _missing_table(database):
            return f"the Airflow metadata DB {where} is not migrated ({text[:160]}): run `airflow db migrate`"
        return (f"cannot use the Airflow metadata DB {where}: {text[:200]} (is it running, and is "
                "[database] sql_alchemy_conn right?)")
    return None


def _database_error(exc: BaseException) -> BaseException | None:
    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _missing_table(error: BaseException) -> bool:
    """The DB answered, but a table Airflow needs is not there (as opposed to a missing database or login)."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "pgcode", None) == _PG_UNDEFINED_TABLE:
        return True
    if orig is not None and getattr(orig, "args", None) and orig.args[0] == _MYSQL_NO_SUCH_TABLE:
        return True
    return str(orig or error).startswith("no such table")  # SQLite: OperationalError without a code


def _metadata_db() -> str:
    try:
        from airflow import settings as airflow_settings

        return airflow_settings.engine.url.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - naming the DB is a courtesy; the message stands without it
        return "([database] sql_alchemy_conn)"
