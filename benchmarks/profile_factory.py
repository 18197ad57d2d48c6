"""Where the factory's parse time goes: ``tenant_dags`` over synthetic tenants, in one process.

    python -m benchmarks.profile_factory [--tenants 300] [--pipelines 5] [--top 25]

Prints (stderr) a breakdown by stage, measured with plain timers around the factory's steps
(YAML read, defaults merge, pydantic validation, ownership checks, doc_md, DAG construction),
next to the same tenants' static DAG files executed in the same process; then a cProfile
listing of ``tenant_dags``. Nothing here is part of the pass/fail benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib
import logging
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks._generate import write_static, write_tree

log = logging.getLogger("profile_factory")
TIMERS: dict[str, float] = defaultdict(float)


def timed(module: Any, name: str, label: str) -> None:
    """Replace ``module.name`` with a wrapper adding its wall time to TIMERS[label] (nested time included)."""
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TIMERS[label] += time.perf_counter() - start

    setattr(module, name, wrapper)


def instrument() -> None:
    from tenantflow.config import loader
    from tenantflow.factory import dag_builder

    tenant_dags = importlib.import_module("tenantflow.factory.tenant_dags")  # package re-exports a function

    timed(tenant_dags, "get_settings", "settings (get_settings)")
    timed(tenant_dags, "load_tenant", "load_tenant (all config work)")
    timed(loader, "read_yaml", "  yaml read (CSafeLoader)")
    timed(loader, "merge", "  defaults merge")
    timed(loader, "validate_document", "  pydantic validation")
    timed(loader, "tenant_ids", "  tenant_ids (scandir, cached)")
    timed(loader, "load_platform", "  load_platform (cached)")
    timed(loader, "_violations", "  ownership checks")
    timed(tenant_dags, "build_dag", "build_dag (all DAG work)")
    timed(dag_builder, "pipeline_doc_md", "  doc_md")
    timed(dag_builder, "dag_access_control", "  access_control")
    timed(dag_builder, "schedule", "  timetable")


def run_factory(dags: Path, tenants: list[str]) -> float:
    from tenantflow.factory import tenant_dags

    start = time.perf_counter()
    for tid in tenants:
        tenant_dags(str(dags / f"{tid}.py"))
    return time.perf_counter() - start


def run_static(static: Path, tenants: list[str]) -> float:
    """Execute the static files' code (compiled beforehand: the same as a cached .pyc)."""
    codes = [compile((static / f"{t}.py").read_text(), str(static / f"{t}.py"), "exec") for t in tenants]
    start = time.perf_counter()
    for code in codes:
        exec(code, {"__name__": "static_dag"})  # noqa: S102 - our own generated file
    return time.perf_counter() - start


def profiled(func: Any, *args: Any) -> cProfile.Profile:
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    func(*args)
    profiler.disable()
    return profiler


def diff(factory: cProfile.Profile, static: cProfile.Profile) -> list[tuple[str, float, float]]:
    """(function, factory tottime, static tottime), largest factory excess first."""
    def totals(profiler: cProfile.Profile) -> dict[str, float]:
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        out: dict[str, float] = defaultdict(float)
        for (file, line, func), (_, _, tottime, _, _) in stats.items():
            short = "/".join(Path(file).parts[-2:]) if file.startswith("/") else file
            out[f"{short}:{line}({func})"] += tottime
        return out

    f, s = totals(factory), totals(static)
    rows = [(name, f.get(name, 0.0), s.get(name, 0.0)) for name in set(f) | set(s)]
    return sorted(rows, key=lambda r: r[1] - r[2], reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--pipelines", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="tenantflow-profile-"))
    try:
        return profile(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def profile(args: argparse.Namespace, root: Path) -> int:
    os.environ.update({"AIRFLOW_HOME": str(root / "airflow_home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING", "TENANTFLOW_HOME": str(root / "home")})
    configs, dags = write_tree(root, args.tenants, args.pipelines)
    os.environ["TENANTFLOW_CONFIG_DIR"] = str(configs)
    write_static(configs, root / "static", str(root / "home"))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s", force=True)
    tenants = sorted(p.stem for p in dags.glob("*.py"))

    run_factory(dags, tenants[:5])  # warm lazy imports (croniter, timetables) on both sides
    run_static(root / "static", tenants[:5])
    gc.collect()
    static_s = run_static(root / "static", tenants)
    gc.collect()
    factory_plain_s = run_factory(dags, tenants)
    instrument()
    gc.collect()
    factory_s = run_factory(dags, tenants)
    log.info("%d tenants x %d pipelines, one process, no DagBag:", len(tenants), args.pipelines)
    log.info("  static files exec      %7.3f s", static_s)
    log.info("  factory (uninstrumented) %5.3f s  (+%.3f s, x%.2f)", factory_plain_s,
             factory_plain_s - static_s, factory_plain_s / static_s)
    log.info("factory, instrumented: %.3f s", factory_s)
    for label, seconds in TIMERS.items():
        log.info("  %-34s %7.3f s  %5.1f%%", label, seconds, 100 * seconds / factory_s)

    factory_prof = profiled(run_factory, dags, tenants)
    static_prof = profiled(run_static, root / "static", tenants)
    log.info("\ncProfile, functions by tottime: factory minus static (top %d)", args.top)
    log.info("%9s %9s %9s  %s", "factory", "static", "diff", "function")
    for name, f, s in diff(factory_prof, static_prof)[: args.top]:
        log.info("%9.3f %9.3f %+9.3f  %s", f, s, f - s, name)
    pstats.Stats(factory_prof, stream=sys.stderr).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
