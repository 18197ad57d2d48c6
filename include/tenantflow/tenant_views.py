"""The tenant-facing views of ``tenantflow`` (tables, quality trend, usage) as text, from one tenant's data.

One implementation for both ways to ask: the CLI's local mode (the platform team, on a machine that
reaches the catalog and the metadata DB) and the tenants dashboard API (``dashboard/views_api.py``),
which the CLI's remote mode (``--api-url``, ``tenantflow.remote``) calls with the user's own token, so
what a tenant user sees over the API is exactly what the local command prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tenantflow.cli_errors import CommandFailed
from tenantflow.config.errors import ConfigErrors
from tenantflow.settings import Settings

FORMATS = ("table", "json", "csv")


@dataclass(frozen=True)
class View:
    output: str
    exit_code: int = 0


def _bundle(settings: Settings, tenant_id: str):
    from tenantflow.config.loader import load_tenant

    try:
        return load_tenant(settings.config_dir, tenant_id)
    except ConfigErrors as exc:
        raise CommandFailed(f"tenant {tenant_id!r} has an invalid config:\n{exc}") from exc
    except FileNotFoundError:
        raise CommandFailed(f"no tenant {tenant_id!r} in {settings.config_dir}") from None


def tables_view(settings: Settings, tenant_id: str, *, as_json: bool) -> View:
    from tenantflow.catalog.catalogs import open_tenant_catalog
    from tenantflow.catalog.inventory import render, tenant_tables

    bundle = _bundle(settings, tenant_id)
    ref = bundle.tenant.catalog
    catalog = open_tenant_catalog(bundle.tenant, bundle.platform, str(settings.home))
    tables = tenant_tables(catalog, bundle.tenant.id, ref.namespace)
    if as_json:
        return View(json.dumps([t.as_dict() for t in tables], indent=2) + "\n")
    return View("\n".join(render(tables) or [f"no tables in {ref.name}:{ref.namespace} yet"]) + "\n")


def quality_view(settings: Settings, tenant_id: str, *, pipeline: str | None, last: int, as_json: bool) -> View:
    from tenantflow.catalog.catalogs import open_tenant_catalog
    from tenantflow.quality.store import QualityStore, last_runs, table_lines

    bundle = _bundle(settings, tenant_id)
    if pipeline and pipeline not in {p.id for p in bundle.pipelines}:
        known = ", ".join(p.id for p in bundle.pipelines)
        raise CommandFailed(f"tenant {tenant_id!r} has no pipeline {pipeline!r} "
                            f"(pipelines: {known})")
    ref = bundle.tenant.catalog
    catalog = open_tenant_catalog(bundle.tenant, bundle.platform, str(settings.home))
    runs = last_runs(QualityStore(catalog, ref.namespace).trend(pipeline), last)
    if as_json:
        return View(json.dumps(runs, indent=2) + "\n")
    if not runs:
        return View(f"no quality results yet in {ref.namespace}._quality_results\n")
    return View("\n".join(table_lines(runs)) + "\n")


def usage_view(settings: Settings, tenant_id: str | None, *, first: str | None, last: str | None,
               fmt: str) -> View:
    from tenantflow.usage.command import run_usage

    result = run_usage(settings, first=first, last=last, tenant=tenant_id, fmt=fmt)
    return View(result.output, result.exit_code)
