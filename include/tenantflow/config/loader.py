"""Load the config tree: ``_platform.yaml``, ``<tenant>/tenant.yaml``, ``<tenant>/pipelines/*.yaml``.

Every error of a tenant is collected and raised together as ``ConfigErrors``; a tenant's
errors never affect another tenant's load.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantflow.config.base import FROM_PARSE_CACHE
from tenantflow.config.bounds import pipeline_bound_violations, tenant_bound_violations
from tenantflow.config.defaults import merge
from tenantflow.config.dependencies import dependency_violations
from tenantflow.config.errors import ConfigError, ConfigErrors
from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig
from tenantflow.config.ownership import Violation, pipeline_violations, tenant_violations
from tenantflow.config.stream_checks import stream_violations
from tenantflow.config.validation import validate_document
from tenantflow.config.yaml_source import YamlDocument, YamlSyntaxError, locate, read_yaml

PLATFORM_FILE = "_platform.yaml"
TENANT_FILE = "tenant.yaml"
PIPELINES_DIR = "pipelines"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Platform:
    config: PlatformConfig
    document: YamlDocument


@dataclass(frozen=True)
class TenantBundle:
    tenant: TenantConfig
    pipelines: tuple[PipelineConfig, ...]
    platform: PlatformConfig
    folder: Path

    def pipeline(self, pipeline_id: str) -> PipelineConfig:
        return next(p for p in self.pipelines if p.id == pipeline_id)


def tenant_ids(root: Path) -> list[str]:
    """Tenant folder names under the config root (folders starting with '_' or '.' are not tenants)."""
    return list(_tenant_ids_cached(str(root), _mtime(root)))


def _tenant_id_set(root: Path) -> frozenset[str]:
    return _tenant_id_set_cached(str(root), _mtime(root))


@functools.lru_cache(maxsize=8)
def _tenant_id_set_cached(root: str, mtime_ns: int) -> frozenset[str]:
    return frozenset(_tenant_ids_cached(root, mtime_ns))


@functools.lru_cache(maxsize=8)
def _tenant_ids_cached(root: str, _mtime_ns: int) -> tuple[str, ...]:
    with os.scandir(root) as entries:
        return tuple(sorted(e.name for e in entries if e.is_dir() and not e.name.startswith(("_", "."))))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def load_platform(root: Path) -> Platform:
    path = root / PLATFORM_FILE
    return _load_platform_cached(str(path), _mtime(path))


@functools.lru_cache(maxsize=8)
def _load_platform_cached(path_str: str, _mtime_ns: int) -> Platform:
    path = Path(path_str)
    if not path.is_file():
        raise ConfigErrors([ConfigError(path, 1, 1, "", "platform config file is missing",
                                        "create it with `catalogs:` and `defaults:`")])
    document = _read(path)
    if isinstance(document, ConfigError):
        raise ConfigErrors([document])
    data = _mapping(document)
    if isinstance(data, ConfigError):
        raise ConfigErrors([data])
    config, errors = validate_document(PlatformConfig, data, document)
    if errors:
        raise ConfigErrors(errors)
    assert isinstance(config, PlatformConfig)
    return Platform(config, document)


def load_tenant(
    root: Path, tenant_id: str, *, only_pipeline: str | None = None, cache_dir: Path | None = None
) -> TenantBundle:
    """Load and check one tenant; with ``only_pipeline`` read just that pipeline's file.

    With ``cache_dir``, a tenant whose inputs are unchanged is read from the parse cache.
    Raises ``ConfigErrors`` listing every problem found in the tenant's files.
    """
    if cache_dir is not None and only_pipeline is None:
        return _load_tenant_cached(root, tenant_id, cache_dir)
    platform = load_platform(root)
    folder = root / tenant_id
    others = _tenant_id_set(root)
    errors: list[ConfigError] = []

    tenant = _load_tenant_file(folder / TENANT_FILE, tenant_id, platform, others, errors)
    pipelines: list[PipelineConfig] = []
    seen: dict[str, Path] = {}
    for path in _pipeline_files(folder, only_pipeline):
        pipeline_id = path.stem
        if pipeline_id in seen:
            errors.append(ConfigError(path, 1, 1, "id", f"pipeline id {pipeline_id!r} is defined twice",
                                      f"also defined in {seen[pipeline_id].name}; keep one file"))
            continue
        seen[pipeline_id] = path
        pipeline = _load_pipeline_file(path, tenant_id, platform, others, errors, tenant)
        if pipeline is not None:
            pipelines.append(pipeline)
            if tenant is not None and (error := _engine_error(path, pipeline, tenant)):
                errors.append(error)
    if only_pipeline is not None and not seen:
        errors.append(ConfigError(folder / PIPELINES_DIR, 1, 1, "", f"pipeline {only_pipeline!r} not found",
                                  f"expected {PIPELINES_DIR}/{only_pipeline}.yaml"))
    if tenant is not None and only_pipeline is None:  # one pipeline's file alone cannot see its upstreams
        errors.extend(_dependency_errors(tenant, pipelines, seen))
    if errors:
        raise ConfigErrors(errors)
    assert tenant is not None
    return TenantBundle(tenant, tuple(pipelines), platform.config, folder)


def _load_tenant_cached(root: Path, tenant_id: str, cache_dir: Path) -> TenantBundle:
    from pydantic import ValidationError

    from tenantflow.config import cache

    folder = root / tenant_id
    files = [root / PLATFORM_FILE, folder / TENANT_FILE, *_pipeline_files(folder, None)]
    try:
        key = cache.cache_key(files, tenant_ids(root))
    except OSError:
        return load_tenant(root, tenant_id)  # a file vanished: the full load reports it
    hit = cache.read(cache_dir, tenant_id, key)
    if hit is not None:
        try:
            return TenantBundle(
                TenantConfig.model_validate(hit["tenant"]),
                tuple(PipelineConfig.model_validate(p, context={FROM_PARSE_CACHE: True}) for p in hit["pipelines"]),
                load_platform(root).config,
                folder,
            )
        except (ValidationError, KeyError, TypeError):
            pass  # written by another version of the models: reload
    bundle = load_tenant(root, tenant_id)
    cache.write(cache_dir, tenant_id, {
        "key": key,
        "tenant": bundle.tenant.model_dump(mode="json"),
        "pipelines": [p.model_dump(mode="json") for p in bundle.pipelines],
    })
    return bundle


def load_all(root: Path) -> tuple[dict[str, TenantBundle], dict[str, ConfigErrors]]:
    """Load every tenant; returns (valid bundles, errors by tenant id)."""
    bundles: dict[str, TenantBundle] = {}
    failures: dict[str, ConfigErrors] = {}
    for tenant_id in tenant_ids(root):
        try:
            bundles[tenant_id] = load_tenant(root, tenant_id)
        except ConfigErrors as exc:
            failures[tenant_id] = exc
    return bundles, failures


# --------------------------------------------------------------------------- internals


def _pipeline_files(folder: Path, only_pipeline: str | None) -> Iterable[Path]:
    directory = folder / PIPELINES_DIR
    if only_pipeline is not None:
        return [p for p in (directory / f"{only_pipeline}{s}" for s in YAML_SUFFIXES) if p.is_file()]
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def _read(path: Path) -> YamlDocument | ConfigError:
    try:
        return read_yaml(path)
    except YamlSyntaxError as exc:
        return ConfigError(path, exc.line, exc.column, "", exc.problem, "check indentation and quoting")
    except (OSError, UnicodeDecodeError) as exc:
        return ConfigError(path, 1, 1, "", f"cannot read file: {exc}", "save it as UTF-8 text")


def _mapping(document: YamlDocument) -> dict[str, Any] | ConfigError:
    if document.data is None:
        return {}
    if not isinstance(document.data, dict):
        return ConfigError(document.path, 1, 1, "", "the file must contain a mapping of fields",
                           "start with `field: value` lines")
    return document.data


def _identity(document: YamlDocument, data: dict[str, Any], expected: str, what: str) -> ConfigError | None:
    given = data.get("id", expected)
    if given != expected:
        line, column, _ = locate(document.text, ("id",))
        return ConfigError(document.path, line, column, "id",
                           f"{what} id {given!r} does not match its {'folder' if what == 'tenant' else 'file'} "
                           f"name {expected!r}", f"remove `id:` or set it to {expected!r}")
    return None


def _field_path(field: str) -> tuple[str | int, ...]:
    return tuple(int(step) if step.isdigit() else step for step in field.split("."))


def _violations(document: YamlDocument, violations: Iterable[Violation]) -> list[ConfigError]:
    out = []
    for v in violations:
        line, column, _ = locate(document.text, _field_path(v.field))
        out.append(ConfigError(document.path, line, column, v.field, v.message, v.hint))
    return out


def _load_tenant_file(
    path: Path, tenant_id: str, platform: Platform, others: frozenset[str], errors: list[ConfigError]
) -> TenantConfig | None:
    if not path.is_file():
        errors.append(ConfigError(path, 1, 1, "", "tenant.yaml is missing",
                                  f"scaffold one with `tenantflow new-tenant {tenant_id}`"))
        return None
    document = _read(path)
    data = document if isinstance(document, ConfigError) else _mapping(document)
    if isinstance(data, ConfigError):
        errors.append(data)
        return None
    assert isinstance(document, YamlDocument)
    if error := _identity(document, data, tenant_id, "tenant"):
        errors.append(error)
        return None
    merged = merge(platform.config.defaults.get("tenant", {}), {**data, "id": tenant_id})
    tenant, found = validate_document(TenantConfig, merged, document, platform.document)
    errors.extend(found)
    if isinstance(tenant, TenantConfig):
        errors.extend(_violations(document, tenant_violations(tenant, platform.config, others)))
        errors.extend(_violations(document, tenant_bound_violations(tenant, platform.config)))
        return tenant
    return None


def _dependency_errors(tenant: TenantConfig, pipelines: list[PipelineConfig],
                       paths: dict[str, Path]) -> list[ConfigError]:
    """``schedule.after`` across the tenant's pipelines: upstream tables exist, are loaded, form no cycle."""
    errors = []
    for v in dependency_violations(tenant, pipelines):
        path = paths[v.pipeline_id]
        line, column, _ = locate(path.read_text(encoding="utf-8"), _field_path(v.field))
        errors.append(ConfigError(path, line, column, v.field, v.message, v.hint))
    return errors


def _engine_error(path: Path, pipeline: PipelineConfig, tenant: TenantConfig) -> ConfigError | None:
    """A pipeline on the Databricks engine needs the tenant's job cluster (``databricks:`` in tenant.yaml)."""
    engine = pipeline.engine or tenant.default_engine
    if engine != "databricks" or tenant.databricks is not None:
        return None
    where = "engine" if pipeline.engine else "engine (the tenant's default_engine)"
    return ConfigError(path, 1, 1, where, f"pipeline {pipeline.id!r} runs on engine 'databricks' but "
                       f"{TENANT_FILE} of tenant {tenant.id!r} has no `databricks:` section",
                       "add `databricks:` (spark_version, node_type_id or instance_pool_id, autoscale, cost_center, "
                       "wheel) to the tenant, or use `engine: local`")


def _load_pipeline_file(
    path: Path, tenant_id: str, platform: Platform, others: frozenset[str], errors: list[ConfigError],
    tenant: TenantConfig | None,
) -> PipelineConfig | None:
    document = _read(path)
    data = document if isinstance(document, ConfigError) else _mapping(document)
    if isinstance(data, ConfigError):
        errors.append(data)
        return None
    assert isinstance(document, YamlDocument)
    if error := _identity(document, data, path.stem, "pipeline"):
        errors.append(error)
        return None
    merged = merge(platform.config.defaults.get("pipeline", {}), {**data, "id": path.stem})
    pipeline, found = validate_document(PipelineConfig, merged, document, platform.document)
    errors.extend(found)
    if isinstance(pipeline, PipelineConfig):
        errors.extend(_violations(document, pipeline_violations(pipeline, tenant_id, others)))
        errors.extend(_violations(document, stream_violations(pipeline)))
        if tenant is not None:  # retention bounds depend on the tenant's classification and settings
            errors.extend(_violations(document, pipeline_bound_violations(pipeline, tenant, platform.config)))
        return pipeline
    return None
