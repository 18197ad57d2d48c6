"""The production wheel holds the tenantflow package and nothing of the demo (built from a copy, ~2-6 s)."""

from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _backend_installed() -> bool:
    """pyproject's build requirements are met here (the dev lock pins setuptools): build offline."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    try:
        return all(Requirement(r).specifier.contains(md.version(Requirement(r).name)) for r in requires)
    except md.PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # a copy of what a build reads, so setuptools' build/ and *.egg-info never land in the checkout
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "include", src / "include",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if _backend_installed() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *isolation, "-w", str(out), str(src)],
                   check=True, capture_output=True, timeout=300)
    (path,) = out.glob("tenantflow-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_ships_no_demo_stand_ins(wheel: zipfile.ZipFile):
    names = wheel.namelist()
    demo = [n for n in names if "demo" in Path(n).parts or Path(n).name in {"jobs_api.py", "launcher.py", "smoke.py"}]
    assert not demo, f"demo code in the production wheel: {demo}"
    outside = [n for n in names if not n.startswith(("tenantflow/", "tenantflow-"))]
    assert not outside, f"the wheel holds more than the tenantflow package: {outside}"


def test_wheel_ships_the_whole_package(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    package = REPO / "include"
    expected = {str(p.relative_to(package)) for p in (package / "tenantflow").rglob("*.py")}
    assert expected - names == set(), f"package modules missing from the wheel: {sorted(expected - names)}"
    # the Databricks job runs from the wheel (python_wheel_task), the type marker ships for users
    assert {"tenantflow/processing/databricks_job.py", "tenantflow/py.typed"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "tenantflow-databricks-job" in wheel.read(entry_points).decode()
