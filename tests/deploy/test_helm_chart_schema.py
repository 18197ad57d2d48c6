"""helm-values/ against the pinned official chart (apache-airflow/airflow CHART_VERSION).

The chart's files are NOT committed here (they come from the apache/airflow repository, Apache 2.0).
The tests look for the pinned release's `chart/` folder (values.schema.json, values.yaml,
templates/) in, first found:

* $TENANTFLOW_HELM_CHART_DIR (e.g. `helm pull apache-airflow/airflow --version 1.19.0 --untar`, or
  `git archive` of `chart/` at the release commit);
* helm-values/chart/<version>/ in this repo;
* shared/vendor/apache-airflow-chart/<version>/ beside the repo.

and check the files are the release's (sha256) before trusting them. Without them these tests skip,
saying so. What runs regardless (CI clones have no chart): our values files against
tests/deploy/chart_contract.py, a hand-written summary of what the chart documents for the keys we
use -- which, where the chart is present, is itself checked against the real schema -- and
tests/deploy/test_helm_values.py.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_contract import CONTRACT, VERSION, Key
from jsonschema import Draft7Validator

from conftest import REPO
from tenantflow.config.workers import WorkerSettings
from tenantflow.deploy.helm_values import CHART_VERSION, GIT_CONFIG_DIR, worker_set

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


# --- the contract (tests/deploy/chart_contract.py): runs without the chart --------------------------------

WORKER_SET = "workers.celery.sets[]"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def _accepts(key: Key, value: Any) -> bool:
    kind = json_type(value)
    return kind in key.types or (kind == "integer" and "number" in key.types)


def contract_check(value: Any, contract: dict[str, Key], path: str = "", where: str = "",
                   used: set[str] | None = None) -> list[str]:
    """Problems of ``value`` (at contract ``path``, shown as ``where``) against the contract, depth first."""
    problems: list[str] = []
    if path:
        key = contract.get(path)
        if key is None:
            siblings = [p.rpartition(".")[2] for p in contract if p.rpartition(".")[0] == path.rpartition(".")[0]]
            hint = difflib.get_close_matches(path.rpartition(".")[2], siblings, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            return [f"{where}: chart {VERSION} documents no such key{suggestion}"]
        if used is not None:
            used.add(path)
        if not _accepts(key, value):
            return [f"{where}: {json_type(value)} {value!r}, chart {VERSION} wants {' or '.join(key.types)}"]
        if key.enum and value not in key.enum:
            return [f"{where}: {value!r} is not one of {list(key.enum)}"]
    if isinstance(value, dict):
        for name, item in value.items():
            child = f"{path}.{name}" if path else str(name)
            if child not in contract and f"{path}.*" in contract:
                child = f"{path}.*"
            problems += contract_check(item, contract, child, f"{where}.{name}" if where else str(name), used)
    elif isinstance(value, list) and not (path and contract[path].free_items):
        for index, item in enumerate(value):
            problems += contract_check(item, contract, f"{path}[]", f"{where}[{index}]", used)
    return problems


def every_option_worker_set() -> dict[str, Any]:
    """What `tenantflow helm-values` renders for a tenant setting every `workers:` option."""
    settings = WorkerSettings(replicas=3, node_selector={"pool": "etl"},
                              role_arn="arn:aws:iam::111122223333:role/tenantflow-workers-acme")
    return {"workers": {"celery": {"sets": [worker_set("acme", "tenant_acme", "dedicated", settings)]}}}


SOURCES = {
    "values.yaml": lambda: yaml.safe_load(OUR_FILES[0].read_text()),
    "tenants.values.yaml": lambda: yaml.safe_load(OUR_FILES[1].read_text()),
    "merged": ours,
    "worker set with every option": every_option_worker_set,
}


def test_the_contract_is_for_the_pinned_chart() -> None:
    assert VERSION == CHART_VERSION


@pytest.mark.parametrize("source", SOURCES)
def test_every_key_path_is_in_the_chart_contract_with_its_type(source: str) -> None:
    assert contract_check(SOURCES[source](), CONTRACT) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"createUserJob": {"enable": True}},
     "createUserJob.enable: chart 1.19.0 documents no such key (did you mean 'enabled'?)"),
    ({"createUserJob": {"enabled": "yes"}}, "createUserJob.enabled: string 'yes', chart 1.19.0 wants boolean"),
    ({"dags": {"gitSync": {"depth": "1"}}}, "dags.gitSync.depth: string '1', chart 1.19.0 wants integer"),
    ({"images": {"airflow": {"pullPolicy": "Sometimes"}}},
     "images.airflow.pullPolicy: 'Sometimes' is not one of ['Always', 'Never', 'IfNotPresent']"),
    ({"workers": {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": 1}}}},
     "workers.serviceAccount.annotations.eks.amazonaws.com/role-arn: integer 1, chart 1.19.0 wants string"),
    ({"apiServer": {"extraVolumeMounts": [{"name": "x", "mountpath": "/x"}]}},
     "apiServer.extraVolumeMounts[0].mountpath: chart 1.19.0 documents no such key (did you mean 'mountPath'?)"),
])
def test_the_contract_catches_a_misspelt_key_or_a_wrong_type(change: dict[str, Any], problem: str) -> None:
    assert contract_check(helm_merge(ours(), change), CONTRACT) == [problem]


def test_the_contract_catches_a_bad_worker_set_and_a_bad_sidecar() -> None:
    values = ours()
    values["workers"]["celery"]["sets"][0]["replicas"] = "2"
    values["workers"]["celery"]["sets"][0]["nodeselector"] = {}
    values["dagProcessor"]["extraContainers"][0]["volumeMounts"][0]["readOnly"] = "true"
    assert contract_check(values, CONTRACT) == [
        "dagProcessor.extraContainers[0].volumeMounts[0].readOnly: string 'true', chart 1.19.0 wants boolean",
        "workers.celery.sets[0].replicas: string '2', chart 1.19.0 wants integer or null",
        "workers.celery.sets[0].nodeselector: chart 1.19.0 documents no such key (did you mean 'nodeSelector'?)",
    ]


def test_the_contract_lists_only_paths_we_use() -> None:
    used: set[str] = set()
    for load in SOURCES.values():
        contract_check(load(), CONTRACT, used=used)
    assert sorted(set(CONTRACT) - used) == []


# --- the contract against the chart's schema: runs where the chart is --------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_node(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema node documenting a contract path; KeyError naming the step the schema lacks."""
    node = schema
    for step in re.findall(r"\[\]|[^.\[\]]+", path):
        node = _resolve(schema, node)
        if step == "[]":
            node = node["items"]
        elif step == "*":
            assert isinstance(node.get("additionalProperties"), dict), f"{path}: the chart lists this map's keys"
            node = node["additionalProperties"]
        else:
            node = node["properties"][step]
    return _resolve(schema, node)


def chart_path(schema: dict[str, Any], path: str) -> str:
    """A worker set key is documented where the set inherits it from: workers.celery, else workers."""
    if not path.startswith(f"{WORKER_SET}."):
        return path
    rest = path.removeprefix(f"{WORKER_SET}.")
    top = re.split(r"[.\[]", rest)[0]
    return f"workers.celery.{rest}" if top in schema_node(schema, "workers.celery")["properties"] else f"workers.{rest}"


def schema_types(node: dict[str, Any]) -> set[str]:
    if "type" in node:
        return {node["type"]} if isinstance(node["type"], str) else set(node["type"])
    return {t for option in node.get("oneOf", node.get("anyOf", [])) for t in schema_types(option)}


def test_every_contract_entry_agrees_with_the_chart_schema(chart: Path, schema: dict[str, Any]) -> None:
    problems = []
    for path, key in CONTRACT.items():
        if path == f"{WORKER_SET}.name":
            continue  # not a workers key: checked below, in the templates
        where = chart_path(schema, path)
        try:
            node = schema_node(schema, where)
        except KeyError as missing:
            problems.append(f"{path}: the schema has no {missing} at {where}")
            continue
        if schema_types(node) != set(key.types):
            problems.append(f"{path}: schema type {sorted(schema_types(node))}, contract {list(key.types)}")
        if key.extra is not None and key.extra != (node.get("additionalProperties", True) is not False):
            problems.append(f"{path}: schema additionalProperties {node.get('additionalProperties')!r}, "
                            f"contract extra={key.extra}")
        if key.free_items and "items" in node:
            problems.append(f"{path}: the schema describes the items, the contract does not check them")
        if tuple(node.get("enum", ())) != key.enum:
            problems.append(f"{path}: schema enum {node.get('enum')}, contract {key.enum}")
    assert problems == [], f"tests/deploy/chart_contract.py disagrees with chart {CHART_VERSION}: {problems}"
    template = (chart / "templates" / "workers" / "worker-deployment.yaml").read_text()
    assert 'include "workersMergeValues" (list $mergedWorkers $workerSet' in template  # sets merge over workers
    assert "-worker{{ if ne .Values.workers.name \"default\" }}-{{ .Values.workers.name }}" in template


def test_the_schema_check_of_the_contract_can_fail(schema: dict[str, Any]) -> None:
    assert schema_types(schema_node(schema, "createUserJob.enabled")) == {"boolean"}
    with pytest.raises(KeyError, match="enable"):
        schema_node(schema, "createUserJob.enable")
    assert chart_path(schema, f"{WORKER_SET}.queue") == "workers.celery.queue"
    assert chart_path(schema, f"{WORKER_SET}.nodeSelector") == "workers.nodeSelector"
    assert schema_node(schema, "dagProcessor.extraContainers[]").get("additionalProperties") is False
