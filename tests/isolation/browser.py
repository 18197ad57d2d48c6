"""Debian's Chromium for the browser test (a fixture, imported by the test module)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session", name="chromium")
def chromium_fixture() -> str:
    """Debian's chromium (+ chromium-driver), installed with apt-get when missing; Playwright drives it."""
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip("/usr/bin/chromium is missing and apt-get cannot install it here (needs root + apt)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
            result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(f"apt-get install chromium chromium-driver failed: {result.stderr[-500:]}")
    return str(CHROMIUM)
