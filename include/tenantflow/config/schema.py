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
            # the id comes from the folder / file name; platform defaults may fill other required fields
            schema["required"] = [r for r in schema.get("required", []) if r != "id"]
        schemas[kind] = schema
    return schemas
