"""Platform settings come from Airflow's [tenantflow] section; the first releases' names still work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tenantflow import settings

PROBE = ("import json; from tenantflow.settings import get_settings, setting; s = get_settings(); "
         "print(json.dumps([str(s.config_dir), str(s.home), str(s.dags_dir), setting('demo_port')]))")


def probe(tmp_path: Path, env: dict[str, str], cfg: str = "") -> list:
    """Settings as a fresh process sees them (Airflow reads airflow.cfg once, at first import)."""
    home = tmp_path / "airflow"
    home.mkdir(exist_ok=True)
    (home / "airflow.cfg").write_text(cfg)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TENANTFLOW_", "AIRFLOW__TENANTFLOW__"))}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**clean, "AIRFLOW_HOME": str(home), **env},
                            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_airflow_cfg_section(tmp_path: Path) -> None:
    cfg = f"[tenantflow]\nconfig_dir = {tmp_path}/configs\nhome = {tmp_path}/state\ndemo_port = 8090\n"
    config_dir, home, dags_dir, demo_port = probe(tmp_path, {}, cfg)
    assert (config_dir, home) == (f"{tmp_path}/configs", f"{tmp_path}/state")
    assert dags_dir == f"{tmp_path}/dags/tenants"  # next to the configs when unset
    assert demo_port == "8090"


def test_airflow_environment_variable_wins_over_the_cfg_and_the_old_name(tmp_path: Path) -> None:
    cfg = f"[tenantflow]\nhome = {tmp_path}/from-cfg\n"
    env = {"AIRFLOW__TENANTFLOW__HOME": f"{tmp_path}/from-airflow-env", "TENANTFLOW_HOME": f"{tmp_path}/old"}
    assert probe(tmp_path, env, cfg)[1] == f"{tmp_path}/from-airflow-env"


def test_the_first_releases_names_still_work(tmp_path: Path) -> None:
    env = {"TENANTFLOW_CONFIG_DIR": f"{tmp_path}/old-configs", "TENANTFLOW_DEMO_PORT": "8091"}
    config_dir, home, _, demo_port = probe(tmp_path, env)
    assert config_dir == f"{tmp_path}/old-configs" and home == f"{tmp_path}/.tenantflow"
    assert demo_port == "8091"


def test_no_other_module_reads_the_environment() -> None:
    package = Path(settings.__file__).parent
    readers = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if p.name != "settings.py" and "demo" not in p.parts
                     and ("os.environ.get" in p.read_text() or "os.getenv" in p.read_text()))
    assert readers == [], f"read settings through tenantflow.settings, not os.environ: {readers}"
