"""Every package the code imports, and every driver it loads by URL, is declared in pyproject.toml and locked.

The imports are derived, not listed: the AST of every module (module- and function-level imports) is walked
and each imported module is mapped to the installed distribution that provides it. Who may use what:
- product code (include/tenantflow, dags/, plugins/) and demo/: `dependencies` and the deployment extras
  (`celery`, `postgres`: optional components, their code imports them inside the task/feature that needs them);
- tests/ and benchmarks/: all of that plus the `dev` dependency group.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PRODUCT_DIRS = ("include/tenantflow", "dags", "plugins", "demo")
DEV_DIRS = ("tests", "benchmarks")
DEPLOYMENT_EXTRAS = ("celery", "postgres")  # what requirements.txt (the image) is locked with
# brought by the cluster that runs the code importing it (a Databricks runtime's pyspark), never by the image;
# locked into requirements-dev.txt for the tests and the demo (Spark in local mode)
CLUSTER_EXTRAS = ("spark",)
# apache-airflow is a meta-package: airflow.* lives in its exactly pinned parts (core, task SDK)
META_PACKAGES = ("apache-airflow",)
# SQLAlchemy URL driver -> the DBAPI module it imports, where the two names differ
DBAPI_MODULES = {"mysqldb": "MySQLdb", "psycopg2cffi": "psycopg2cffi"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _declared(*, dev: bool) -> set[str]:
    project = PYPROJECT["project"]
    names = _names(project["dependencies"])
    for extra in DEPLOYMENT_EXTRAS + CLUSTER_EXTRAS:
        names |= _names(project["optional-dependencies"][extra])
    if dev:
        names |= _names(PYPROJECT["dependency-groups"]["dev"])
    for meta in (m for m in META_PACKAGES if m in names):
        for line in md.requires(meta) or []:
            req = Requirement(line)
            if req.marker is None and str(req.specifier).startswith("=="):
                names.add(canonicalize_name(req.name))
    return names


@cache
def _modules_of(dist: str) -> frozenset[str]:
    """Dotted names of the modules and packages a distribution installs."""
    out = set()
    for f in md.files(dist) or []:
        if f.suffix == ".py":
            parts = f.with_suffix("").parts
            out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return frozenset(out)


@cache
def _top_level_distributions() -> dict[str, list[str]]:
    return md.packages_distributions()


@cache
def _distributions(module: str) -> list[str]:
    """The distribution(s) providing ``module``: for a namespace shared by several (airflow.providers.*),
    the ones owning the longest prefix of the dotted name."""
    candidates = _top_level_distributions().get(module.split(".")[0], [])
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        owners = [d for d in candidates if ".".join(parts[:n]) in _modules_of(d)]
        if owners:
            return sorted({canonicalize_name(d) for d in owners})
    return sorted({canonicalize_name(d) for d in candidates})


def _is_local(top: str, path: Path) -> bool:
    """Repo-local modules: the repo root (demo, benchmarks), tests/ and the importing file's folder
    (pytest's rootdir insertion) are on sys.path, tenantflow is the package itself."""
    return top == "tenantflow" or any(
        (where / top).is_dir() or (where / f"{top}.py").is_file() for where in (REPO, REPO / "tests", path.parent))


def _imports(dirs: tuple[str, ...]) -> list[tuple[str, int, str]]:
    """(file, line, imported module) of every absolute import of a third-party module under ``dirs``."""
    found = []
    for folder in dirs:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top == "__future__" or top in sys.stdlib_module_names or _is_local(top, path):
                        continue
                    found.append((str(path.relative_to(REPO)), node.lineno, module))
    return found


def _undeclared(dirs: tuple[str, ...], declared: set[str]) -> list[str]:
    problems = []
    for file, line, module in _imports(dirs):
        dists = _distributions(module)
        if not dists:
            problems.append(f"{file}:{line} imports {module}, which no installed distribution provides")
        elif not declared & set(dists):
            problems.append(f"{file}:{line} imports {module} from {' or '.join(dists)}, which pyproject.toml "
                            "does not declare")
    return problems


def test_product_imports_are_declared():
    problems = _undeclared(PRODUCT_DIRS, _declared(dev=False))
    assert not problems, ("declare these in pyproject.toml [project] dependencies (or a deployment extra), "
                          "then run make lock:\n" + "\n".join(problems))


def test_test_and_benchmark_imports_are_declared():
    problems = _undeclared(DEV_DIRS, _declared(dev=True))
    assert not problems, ("declare these in pyproject.toml [dependency-groups] dev, then run make lock:\n"
                          + "\n".join(problems))


def test_the_walk_sees_imports_inside_functions():
    # quality code imports great_expectations inside task code only (TID253): the walk must see it
    assert any(module.startswith("great_expectations") for _, _, module in _imports(("include/tenantflow",)))


def test_sqlalchemy_url_drivers_are_core_dependencies():
    """A source URL like postgresql+psycopg2:// loads its DBAPI by name only: it must be a core dependency,
    as any tenant's YAML may declare that source kind."""
    drivers = set()
    for path in (REPO / "include/tenantflow").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = re.fullmatch(r"(postgresql|mysql|mariadb|mssql|oracle|sqlite)\+(\w+)", node.value)
                if match:
                    drivers.add((str(path.relative_to(REPO)), match[0], DBAPI_MODULES.get(match[2], match[2])))
    assert {d for _, _, d in drivers} >= {"psycopg2", "pymysql"}, drivers
    core = _names(PYPROJECT["project"]["dependencies"])
    missing = [f"{file}: {url} needs {module} ({_distributions(module) or 'not installed'})"
               for file, url, module in sorted(drivers) if not core & set(_distributions(module))]
    assert not missing, "declare in pyproject.toml [project] dependencies:\n" + "\n".join(missing)


def _pins(name: str) -> dict[str, str]:
    """{distribution: its whole entry (pin line + hashes)} of a lock file."""
    text = (REPO / name).read_text()
    entries = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*==\S+(?: \\\n(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n?)+))",
                         text, re.M)
    return {canonicalize_name(e.split("==")[0]): e.strip() for e in entries}


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_lock_pins_every_package_with_hashes(lock: str):
    text = (REPO / lock).read_text()
    pinned = re.findall(r"^[A-Za-z0-9][^\s#]*", text, re.M)
    assert pinned, f"{lock} pins nothing"
    assert all("==" in p for p in pinned), f"{lock}: not an == pin: {[p for p in pinned if '==' not in p]}"
    assert len(_pins(lock)) == len(pinned), f"{lock}: some pins have no --hash lines: run make lock"


def test_locks_cover_pyproject_and_agree():
    """pyproject.toml changed without `make lock`, or the two locks drifted apart, fails here."""
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    project = PYPROJECT["project"]
    image = _names(project["dependencies"]) | {n for e in DEPLOYMENT_EXTRAS for n in
                                               _names(project["optional-dependencies"][e])}
    assert not image - set(runtime), f"declared but not in requirements.txt (run make lock): {image - set(runtime)}"
    everything = image | _names(PYPROJECT["dependency-groups"]["dev"]) | {
        n for reqs in project["optional-dependencies"].values() for n in _names(reqs)}
    assert not everything - set(dev), f"declared but not in requirements-dev.txt: {everything - set(dev)}"
    # the drivers the product loads by name only, and the deployment's: in the image (issue 12)
    assert {"psycopg2-binary", "pymysql", "asyncpg", "redis", "apache-airflow-providers-celery"} <= set(runtime)
    differ = sorted(n for n, entry in runtime.items() if dev.get(n) != entry)
    assert not differ, f"requirements-dev.txt pins these differently from requirements.txt: {differ}"
