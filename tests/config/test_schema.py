"""The JSON Schemas editors and CI use accept every example config and reject broken ones."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tenantflow.config.defaults import merge
from tenantflow.config.schema import json_schemas

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "tenant_configs"
TENANT_FILES = sorted(CONFIG_DIR.glob("*/tenant.yaml"))
PIPELINE_FILES = sorted(CONFIG_DIR.glob("*/pipelines/*.yaml"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CONFIG_DIR)) for p in paths]


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    return json_schemas()


@pytest.fixture(scope="module")
def defaults() -> dict:
    return yaml.safe_load((CONFIG_DIR / "_platform.yaml").read_text())["defaults"]


def _errors(schema: dict, document: object) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(document)
    ]


def test_three_schemas(schemas: dict[str, dict]) -> None:
    assert sorted(schemas) == ["pipeline", "platform", "tenant"]


@pytest.mark.parametrize("kind", ["tenant", "pipeline", "platform"])
def test_schema_is_a_valid_draft_2020_12_schema(schemas: dict[str, dict], kind: str) -> None:
    schema = schemas[kind]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)  # raises SchemaError with the offending keyword
    assert schema.get("additionalProperties") is False, f"{kind} schema must flag unknown top-level fields"


@pytest.mark.parametrize("kind", ["tenant", "pipeline"])
def test_id_is_not_required_in_files(schemas: dict[str, dict], kind: str) -> None:
    """Ids come from folder and file names, so an editor must not ask for `id:`."""
    assert "id" not in schemas[kind].get("required", []), f"{kind} schema requires `id`"


def test_platform_file_validates(schemas: dict[str, dict]) -> None:
    document = yaml.safe_load((CONFIG_DIR / "_platform.yaml").read_text())
    assert _errors(schemas["platform"], document) == []


@pytest.mark.parametrize("path", TENANT_FILES, ids=_ids(TENANT_FILES))
def test_example_tenant_validates(schemas: dict[str, dict], defaults: dict, path: Path) -> None:
    document = merge(defaults.get("tenant", {}), yaml.safe_load(path.read_text()))
    assert _errors(schemas["tenant"], document) == [], f"{path} (merged with platform defaults)"


def _yaml_1_2_keys(document: dict) -> dict:
    """PyYAML reads the key `on` as true (YAML 1.1); editors' YAML 1.2 parsers, which use the schema, do not."""
    schedule = document.get("schedule")
    if isinstance(schedule, dict) and True in schedule:
        document["schedule"] = {("on" if k is True else k): v for k, v in schedule.items()}
    return document


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=_ids(PIPELINE_FILES))
def test_example_pipeline_validates(schemas: dict[str, dict], defaults: dict, path: Path) -> None:
    document = merge(defaults.get("pipeline", {}), _yaml_1_2_keys(yaml.safe_load(path.read_text())))
    assert _errors(schemas["pipeline"], document) == [], f"{path} (merged with platform defaults)"


@pytest.fixture
def orders(defaults: dict) -> dict:
    return merge(
        defaults.get("pipeline", {}),
        yaml.safe_load((CONFIG_DIR / "finance" / "pipelines" / "orders.yaml").read_text()),
    )


def test_unknown_top_level_field_is_a_schema_error(schemas: dict[str, dict], orders: dict) -> None:
    errors = _errors(schemas["pipeline"], {**orders, "colour": "blue"})
    assert len(errors) == 1 and "'colour' was unexpected" in errors[0], errors


def test_unknown_source_field_is_a_schema_error(schemas: dict[str, dict], orders: dict) -> None:
    broken = copy.deepcopy(orders)
    broken["source"]["tabel"] = broken["source"].pop("table")
    errors = _errors(schemas["pipeline"], broken)
    assert errors and all(e.startswith("source") for e in errors), errors


def test_wrong_literal_is_a_schema_error(schemas: dict[str, dict], orders: dict) -> None:
    broken = copy.deepcopy(orders)
    broken["target"]["mode"] = "upsert"
    errors = _errors(schemas["pipeline"], broken)
    assert errors and any(e.startswith("target.mode") for e in errors), errors


def test_unknown_tenant_field_is_a_schema_error(schemas: dict[str, dict], defaults: dict) -> None:
    document = copy.deepcopy(
        merge(defaults.get("tenant", {}), yaml.safe_load((CONFIG_DIR / "retail" / "tenant.yaml").read_text()))
    )
    document["quotas"]["pool_slot"] = document["quotas"].pop("pool_slots")
    errors = _errors(schemas["tenant"], document)
    assert any("pool_slot" in e for e in errors), errors


def test_gx_expectations_are_checked_by_name_in_the_schema(schemas: dict[str, dict], orders: dict) -> None:
    valid = {"gx": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "sku", "max_value": 9}}
    assert _errors(schemas["pipeline"], {**orders, "quality": [valid]}) == []
    errors = _errors(schemas["pipeline"], {**orders, "quality": [{**valid, "gx": "expect_sku_to_be_nice"}]})
    assert errors and all(e.startswith("quality.0") for e in errors), errors
