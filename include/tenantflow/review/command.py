"""``tenantflow plan``: extract the configs of two git refs, load both, diff, render."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tenantflow.config.errors import ConfigErrors
from tenantflow.config.loader import PIPELINES_DIR, YAML_SUFFIXES, load_all, load_platform
from tenantflow.review import git_refs
from tenantflow.review.git_refs import GitError
from tenantflow.review.model import ConfigState, PipelineRename, PlanInput
from tenantflow.review.plan import build_plan
from tenantflow.review.render import ERROR_RENDERERS, RENDERERS
from tenantflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanResult:
    exit_code: int
    output: str


@dataclass(frozen=True)
class _Layout:
    root: Path
    config: PurePosixPath
    dags: PurePosixPath | None
    """None when the DAG entry files live outside the repository (then the ones on disk are checked)."""


def _layout(settings: Settings) -> _Layout:
    config_dir = settings.config_dir.resolve()
    root = git_refs.repo_root(config_dir)
    try:
        dags: PurePosixPath | None = PurePosixPath(settings.dags_dir.resolve().relative_to(root).as_posix())
    except ValueError:
        dags = None
    return _Layout(root, PurePosixPath(config_dir.relative_to(root).as_posix()), dags)


def _load(layout: _Layout, settings: Settings, label: str, commit: str, workdir: Path,
          errors: list[str] | None = None) -> ConfigState:
    """The configs at ``commit``; with ``errors`` (the head), every problem is collected there."""
    tree = workdir / commit
    present = git_refs.extract(layout.root, commit, [p for p in (layout.config, layout.dags) if p is not None], tree)
    config_dir = tree / layout.config
    dags_dir = tree / layout.dags if layout.dags is not None else settings.dags_dir
    found: list[str] = []
    bundles, failures = {}, {}
    if layout.config not in present:
        found.append(f"{layout.config}: the config dir does not exist at {label} ({commit[:12]})")
    else:
        try:
            load_platform(config_dir)
        except ConfigErrors as exc:
            found += [str(e) for e in exc.errors]
        bundles, failures = load_all(config_dir)
        for exc in failures.values():
            found += [str(e) for e in exc.errors]
    entry_files = frozenset(p.stem for p in dags_dir.glob("*.py")) if dags_dir.is_dir() else frozenset()
    if errors is not None:
        from tenantflow.isolation.cross_tenant import cross_tenant_errors, missing_entry_files

        found += [str(e) for e in cross_tenant_errors(bundles)]
        found += missing_entry_files(dataclasses.replace(settings, config_dir=config_dir, dags_dir=dags_dir), bundles)
        prefix = f"{tree}/"
        errors += list(dict.fromkeys(line.replace(prefix, "") for line in found))
    return ConfigState(label, commit, bundles, {t: str(e) for t, e in failures.items()}, entry_files)


def _pipeline_key(layout: _Layout, path: PurePosixPath) -> tuple[str, str] | None:
    try:
        parts = path.relative_to(layout.config).parts
    except ValueError:
        return None
    if len(parts) == 3 and parts[1] == PIPELINES_DIR and path.suffix in YAML_SUFFIXES:
        return parts[0], path.stem
    return None


def _renames(layout: _Layout, base: str, head: str) -> tuple[PipelineRename, ...]:
    found = []
    for rename in git_refs.renames(layout.root, base, head, layout.config):
        old, new = _pipeline_key(layout, rename.old), _pipeline_key(layout, rename.new)
        if old and new:
            found.append(PipelineRename(old[0], old[1], new[1], new[0] if new[0] != old[0] else None))
    return tuple(found)


def run_plan(settings: Settings, *, base: str | None, head: str | None, fmt: str = "text") -> PlanResult:
    try:
        layout = _layout(settings)
        head_label = head or "HEAD"
        head_commit = git_refs.commit_of(layout.root, head_label)
        if base is None:
            base_label, base_commit = git_refs.default_base(layout.root, head_commit)
        else:
            base_label, base_commit = base, git_refs.commit_of(layout.root, base)
        with tempfile.TemporaryDirectory(prefix="tenantflow-plan-") as tmp:
            errors: list[str] = []
            head_state = _load(layout, settings, head_label, head_commit, Path(tmp), errors)
            if errors:
                return PlanResult(1, ERROR_RENDERERS[fmt](head_state, errors))
            base_state = _load(layout, settings, base_label, base_commit, Path(tmp))
            renames = _renames(layout, base_commit, head_commit)
    except GitError as exc:
        return PlanResult(1, f"tenantflow plan: {exc}\n")
    plan = build_plan(PlanInput(base_state, head_state, renames))
    log.debug("plan %s..%s: %s", base_commit[:12], head_commit[:12], plan.summary)
    return PlanResult(0, RENDERERS[fmt](plan))
