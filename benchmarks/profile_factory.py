"""Where the factory's parse time goes: ``tenant_dags`` over synthetic tenants, in one process.

    python -m benchmarks.profile_factory [--tenants 300] [--pipelines 5] [--top 20]

Compares, in one interpreter and without DagBag, ``tenant_dags`` for every synthetic tenant with
executing the same tenants' hand-written DAG files (``benchmarks/_generate.py``), twice for the
factory: cold (empty TENANTFLOW_HOME, so no config parse cache) and warm (cache filled). Then a
breakdown by stage with plain timers around the factory's steps, and cProfile tables of the
functions where the factory spends more than the static files. Progress and results go to stderr.
Not part of the pass/fail benchmark (``benchmarks.parse_bench``).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._generate import write_static, write_tree

log = logging.getLogger("profile_factory")
TIMERS: dict[str, float] = defaultdict(float)
ROUNDS = 3


def timed(module: Any, name: str, label: str) -> None:
    """Replace ``module.name`` with a wrapper adding its wall time to TIMERS[label]."""
    original = getattr(module, name, None)
    if original is None:
        return  # the factory changed: that stage no longer exists

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
    timed(loader, "load_platform", "  load_platform (lru-cached)")
    timed(loader, "tenant_ids", "  tenant_ids (lru-cached scandir)")
    timed(loader, "_read", "  yaml read")
    timed(loader, "merge", "  defaults merge")
    timed(loader, "validate_document", "  pydantic validation of YAML data")
    timed(loader, "_violations", "  ownership checks")
    try:
        cache = importlib.import_module("tenantflow.config.cache")
    except ImportError:
        pass
    else:
        timed(cache, "cache_key", "  parse cache: key (stat of every file)")
        timed(cache, "read", "  parse cache: read JSON")
        timed(cache, "write", "  parse cache: write JSON")
    timed(tenant_dags, "build_dag", "build_dag (all DAG work)")
    timed(dag_builder, "pipeline_doc_md", "  doc_md")
    timed(dag_builder, "default_args", "  default_args")
    timed(dag_builder, "schedule", "  timetable")


class Bench:
    def __init__(self, root: Path, dags: Path, static: Path, tenants: list[str]) -> None:
        self.root, self.dags, self.tenants = root, dags, tenants
        paths = [static / f"{t}.py" for t in tenants]
        self.codes = [compile(p.read_text(), str(p), "exec") for p in paths]  # as from a cached .pyc

    def factory(self, cold: bool) -> float:
        from tenantflow.factory import tenant_dags

        if cold:
            shutil.rmtree(self.root / "home", ignore_errors=True)
        start = time.perf_counter()
        for tid in self.tenants:
            tenant_dags(str(self.dags / f"{tid}.py"))
        return time.perf_counter() - start

    def static(self) -> float:
        start = time.perf_counter()
        for code in self.codes:
            exec(code, {"__name__": "static_dag"})  # noqa: S102 - our own generated file
        return time.perf_counter() - start

    def runs(self) -> dict[str, Callable[[], float]]:
        return {"static": self.static, "factory cold": lambda: self.factory(True),
                "factory warm": lambda: self.factory(False)}


def best_times(bench: Bench) -> dict[str, float]:
    best = {name: float("inf") for name in bench.runs()}
    for _ in range(ROUNDS):
        for name, run in bench.runs().items():
            if name == "factory warm":
                bench.factory(False)  # make sure the cache is filled after the cold run
            gc.collect()
            best[name] = min(best[name], run())
    return best


def breakdown(bench: Bench, cold: bool) -> None:
    bench.factory(False)
    TIMERS.clear()
    gc.collect()
    total = bench.factory(cold)
    log.info("factory %s, instrumented: %.3f s", "cold" if cold else "warm", total)
    for label, seconds in TIMERS.items():
        log.info("  %-40s %7.3f s  %5.1f%%", label, seconds, 100 * seconds / total)


def profiled(run: Callable[[], float]) -> cProfile.Profile:
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    return profiler


def diff(factory: cProfile.Profile, static: cProfile.Profile) -> list[tuple[str, float, float]]:
    """(function, factory tottime, static tottime), largest factory excess first."""
    def totals(profiler: cProfile.Profile) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (file, line, func), row in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
            short = "/".join(Path(file).parts[-2:]) if file.startswith("/") else file
            out[f"{short}:{line}({func})"] += row[2]
        return out

    f, s = totals(factory), totals(static)
    rows = [(name, f.get(name, 0.0), s.get(name, 0.0)) for name in set(f) | set(s)]
    return sorted(rows, key=lambda r: r[1] - r[2], reverse=True)


def profile(args: argparse.Namespace, root: Path) -> None:
    os.environ.update({"AIRFLOW_HOME": str(root / "airflow_home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                       "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING", "TENANTFLOW_HOME": str(root / "home")})
    (root / "airflow_home").mkdir()
    configs, dags = write_tree(root, args.tenants, args.pipelines)
    os.environ["TENANTFLOW_CONFIG_DIR"] = str(configs)
    write_static(configs, root / "static", str(root / "home"))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s", force=True)
    bench = Bench(root, dags, root / "static", sorted(p.stem for p in dags.glob("*.py")))
    bench.factory(True)  # warm lazy imports (croniter, timetables) on both sides
    bench.static()

    best = best_times(bench)
    log.info("%d tenants x %d pipelines, one process, no DagBag, best of %d:", args.tenants, args.pipelines,
             ROUNDS)
    for name, seconds in best.items():
        log.info("  %-14s %7.3f s  x%.2f of static", name, seconds, seconds / best["static"])
    instrument()
    breakdown(bench, cold=True)
    breakdown(bench, cold=False)
    for label, cold in (("cold", True), ("warm", False)):
        bench.factory(False)
        rows = diff(profiled(lambda c=cold: bench.factory(c)), profiled(bench.static))
        log.info("\ncProfile, factory %s minus static, by tottime (top %d; timers above add a little)",
                 label, args.top)
        log.info("%9s %9s %9s  %s", "factory", "static", "diff", "function")
        for name, f, s in rows[: args.top]:
            log.info("%9.3f %9.3f %+9.3f  %s", f, s, f - s, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--pipelines", type=int, default=5)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="tenantflow-profile-"))
    try:
        profile(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
