"""helm-values/ against the pinned official chart (apache-airflow/airflow CHART_VERSION).

The chart's files are NOT committed here (they come from the apache/airflow repository, Apache 2.0).
The tests look for the pinned release's `chart/` folder (values.schema.json, values.yaml,
templates/) in, first found:

* $TENANTFLOW_HELM_CHART_DIR (e.g. `helm pull apache-airflow/airflow --version 1.19.0 --untar`, or
  `git archive` of `chart/` at the release commit);
* helm-values/chart/<version>/ in this repo;
* shared/vendor/apache-airflow-chart/<version>/ beside the repo.

and check the files are the release's (sha256) before trusting them. Without them these tests skip,
saying so; tests/deploy/test_helm_values.py runs regardless.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from conftest import REPO
from tenantflow.deploy.helm_values import CHART_VERSION, GIT_CONFIG_DIR

# apache/airflow chart/ at 5dc0143e7df3d7d0985aaffdfd96df9905432150 (Chart.yaml version 1.19.0, the
# 1.19.0rc3 build; the release notes date 1.19.0 2026-02-17; no chart file changed before the release).
RELEASE_SHA256 = {
    "values.schema.json": "a8c58db04331a07692c5bf7f61c8b54a0a345e44437147170259ec7e4fe7267a",
    "values.yaml": "2211422ed3e7b7f2f35ec8bf135ccc3eebb4b5ca0dd02d8a64d8f7aa96e22338",
}
OUR_FILES = [REPO / "helm-values" / "values.yaml", REPO / "helm-values" / "tenants.values.yaml"]


def _candidates() -> list[Path]:
    found = [Path(os.environ["TENANTFLOW_HELM_CHART_DIR"])] if os.environ.get("TENANTFLOW_HELM_CHART_DIR") else []
    return [*found, REPO / "helm-values" / "chart" / CHART_VERSION,
            REPO.parent / "shared" / "vendor" / "apache-airflow-chart" / CHART_VERSION]


@pytest.fixture(scope="module")
def chart() -> Path:
    for folder in _candidates():
        if (folder / "values.schema.json").is_file():
            for name, digest in RELEASE_SHA256.items():
                actual = hashlib.sha256((folder / name).read_bytes()).hexdigest()
                assert actual == digest, f"{folder / name} is not chart {CHART_VERSION}'s (sha256 {actual})"
            return folder
    pytest.skip(f"chart {CHART_VERSION} files not found in any of {[str(p) for p in _candidates()]}")


@pytest.fixture(scope="module")
def schema(chart: Path) -> dict[str, Any]:
    return json.loads((chart / "values.schema.json").read_text())


def helm_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's values coalescing: maps merge key by key, anything else replaces, null deletes the key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def ours() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in OUR_FILES:
        merged = helm_merge(merged, yaml.safe_load(path.read_text()))
    return merged


def schema_errors(schema: dict[str, Any], values: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
            for e in Draft7Validator(schema).iter_errors(values)]


def test_the_values_helm_would_validate_match_the_pinned_schema(chart: Path, schema: dict[str, Any]) -> None:
    """What Helm checks: the chart's defaults, then values.yaml, then tenants.values.yaml."""
    final = helm_merge(yaml.safe_load((chart / "values.yaml").read_text()), ours())
    assert final["workers"]["celery"]["sets"], "the tenant file's worker sets did not survive the merge"
    assert schema_errors(schema, final) == []


def test_the_pinned_schema_rejects_unknown_keys(chart: Path, schema: dict[str, Any]) -> None:
    """So passing the test above means something: a misspelt key fails, and createUserJob.enabled is known."""
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    misspelt = helm_merge(defaults, {"createUserJob": {"enable": True}})
    assert any("createUserJob" in e and "'enable'" in e for e in schema_errors(schema, misspelt))
    assert schema["properties"]["createUserJob"]["properties"]["enabled"]["type"] == "boolean"
    assert ours()["createUserJob"]["enabled"] is True
    assert schema_errors(schema, helm_merge(defaults, {"createUserJob": {"enabled": True}})) == []


def _documented(node: dict[str, Any], defaults: Any) -> set[str] | None:
    """Keys documented under a schema node (properties + the chart's values.yaml), None = a free-form map."""
    if "properties" not in node:
        return None
    return set(node["properties"]) | (set(defaults) if isinstance(defaults, dict) else set())


def undocumented(values: Any, node: dict[str, Any], defaults: Any, path: str) -> list[str]:
    if not isinstance(values, dict) or "$ref" in node:
        return []  # Kubernetes objects ($ref) are checked by the schema itself
    known = _documented(node, defaults)
    if known is None:
        return []
    problems = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in known:
            problems.append(where)
        elif key in node["properties"]:
            problems += undocumented(value, node["properties"][key], (defaults or {}).get(key), where)
    return problems


def test_every_key_path_is_documented_by_the_chart(chart: Path, schema: dict[str, Any]) -> None:
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    values = ours()
    problems = undocumented(values, schema, defaults, "")
    # A worker set (free-form in the schema) may override what `workers` and `workers.celery` document.
    workers, celery = schema["properties"]["workers"], schema["properties"]["workers"]["properties"]["celery"]
    for index, item in enumerate(values["workers"]["celery"]["sets"]):
        for key, value in item.items():
            where = f"workers.celery.sets[{index}].{key}"
            parent = celery if key in celery["properties"] else workers
            if key not in parent["properties"] and key != "name":
                problems.append(where)
            elif key in parent["properties"]:
                problems += undocumented(value, parent["properties"][key], None, where)
    assert problems == [], f"keys chart {CHART_VERSION} does not document: {problems}"


def test_the_reconcile_sidecar_mounts_the_git_sync_volume_the_chart_gives_the_dag_processor(chart: Path) -> None:
    template = (chart / "templates" / "dag-processor" / "dag-processor-deployment.yaml").read_text()
    assert ".Values.dagProcessor.extraContainers" in template
    git_sync_volume = re.search(r"else if \.Values\.dags\.gitSync\.enabled \}\}\s*- name: (\S+)\s*emptyDir", template)
    assert git_sync_volume, "the dag-processor template no longer declares a git-sync emptyDir volume"
    helpers = (chart / "templates" / "_helpers.yaml").read_text()
    dags_mount = re.search(r'define "airflow_dags_mount" -}}\s*- name: (\S+).*?printf "%s/dags" \.Values\.airflowHome',
                           helpers, re.S)
    assert dags_mount and dags_mount.group(1) == git_sync_volume.group(1)

    values = ours()
    (sidecar,) = [c for c in values["dagProcessor"]["extraContainers"] if c["name"] == "tenantflow-reconcile"]
    mounts = {m["name"]: m for m in sidecar["volumeMounts"]}
    volume = git_sync_volume.group(1)
    assert volume in mounts, f"sidecar mounts {sorted(mounts)}, not the chart's git-sync volume {volume!r}"
    dags_path = f"{values.get('airflowHome', '/opt/airflow')}/dags"
    assert mounts[volume]["mountPath"] == dags_path and mounts[volume]["readOnly"] is True
    assert "- name: config\n          configMap:" in template and "config" in mounts  # airflow.cfg
    env = {e["name"]: e for e in sidecar["env"]}
    assert env["AIRFLOW__TENANTFLOW__CONFIG_DIR"]["value"] == GIT_CONFIG_DIR
    assert GIT_CONFIG_DIR.startswith(f"{dags_path}/repo/")  # git-sync's checkout inside that volume
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"] == {
        "secretKeyRef": {"name": values["data"]["metadataSecretName"], "key": "connection"}}
    assert sidecar["args"][:2] == ["bash", "-c"] and "tenantflow reconcile --watch" in sidecar["args"][2]
    assert {"requests", "limits"} <= set(sidecar["resources"])


@pytest.mark.parametrize(
    "component", ["workers", "apiServer", "dagProcessor", "triggerer", "scheduler", "createUserJob"])
def test_components_reading_secrets_or_s3_have_an_iam_role(schema: dict[str, Any], component: str) -> None:
    documented = schema["properties"][component]["properties"]["serviceAccount"]["properties"]
    assert "annotations" in documented
    annotations = ours()[component]["serviceAccount"]["annotations"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/\S+", annotations["eks.amazonaws.com/role-arn"])
