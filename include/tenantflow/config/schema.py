"""JSON Schemas of the config files, for editors (yaml-language-server) and CI."""

from __future__ import annotations

from typing import Any

from tenantflow.config.models import PipelineConfig, PlatformConfig, TenantConfig


def json_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for kind, model in (("tenant", TenantConfig), ("pipeline", PipelineConfig), ("platform", PlatformConfig)):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"tenantflow {kind} config"
        if kind in ("tenant", "pipeline"):
            # The id comes from the folder / file name and platform defaults may fill any other field,
            # so editors check names, types and values; `tenantflow validate` decides what is missing.
            _drop_required(schema)
        schemas[kind] = schema
    return schemas


def _drop_required(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)
