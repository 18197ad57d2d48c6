"""``tenantflow doctor TENANT``: load the tenant, run the checks, print them; exit 1 on any FAIL."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import load_tenant, tenant_ids
from tenantflow.settings import Settings


def doctor(settings: Settings, tenant_id: str, *, as_json: bool, timeout: float, out: Callable[[str], None]) -> int:
    from tenantflow.doctor.checks import run_checks
    from tenantflow.doctor.render import as_json as render_json
    from tenantflow.doctor.render import text_lines

    known = tenant_ids(settings.config_dir)
    if tenant_id not in known:
        out(f"tenantflow doctor: no tenant {tenant_id!r} in {settings.config_dir} "
            f"(known tenants: {', '.join(known) or 'none'})")
        return 1
    try:
        bundle = load_tenant(settings.config_dir, tenant_id)
    except ConfigErrors as exc:
        first = str(exc.errors[0]).splitlines()[0] if exc.errors else str(exc)
        more = f" (+{len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        out(f"tenantflow doctor: tenant {tenant_id!r} has an invalid config: {first}{more}; "
            f"run `tenantflow validate {tenant_id}`")
        return 1
    _logs_to_stderr()
    report = run_checks(bundle, str(settings.home), timeout=timeout)
    for line in [render_json(report)] if as_json else text_lines(report):
        out(line)
    return 1 if report.failed else 0


def _logs_to_stderr() -> None:
    """Airflow's logging setup (on first import) writes to stdout; stdout is the report (``--json`` is parsed)."""
    import airflow.settings  # noqa: F401 - its import configures logging: afterwards, nothing replaces the handlers

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)
