"""Validate OpenLineage events against the vendored OpenLineage JSON schemas (schemas/SOURCE.md).

An event validates against ``OpenLineage.json``; then every facet whose ``_schemaURL`` is a standard
OpenLineage facet validates against that facet's own schema (a version not vendored is an error, not a
skip). Custom facets (the provider's ``airflow*``, tenantflow's ``tenantflow_*``) are checked against the
base facet definitions only, as the spec does, except tenantflow's, which validate against their published
schema (docs/lineage-facets.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "schemas"
OWN_FACETS = Path(__file__).resolve().parents[2] / "docs" / "lineage-facets.json"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
FACETS = "https://openlineage.io/spec/facets/"
OWN = json.loads(OWN_FACETS.read_text())["$id"]


def _registry() -> Registry:
    resources = []
    for path in [SCHEMAS / "OpenLineage.json", *sorted((SCHEMAS / "facets").glob("*.json")), OWN_FACETS]:
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": ref}, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)


EVENT = _validator(f"{SPEC}#/$defs/RunEvent")


def _facets(event: dict[str, Any]):
    yield from (event.get("run") or {}).get("facets", {}).items()
    yield from (event.get("job") or {}).get("facets", {}).items()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for group in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(group) or {}).items()


def validate(event: dict[str, Any]) -> list[str]:
    """Problems of one event (empty: it validates); each names the facet or the path that is wrong."""
    problems = [f"event {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in EVENT.iter_errors(event)]
    for key, facet in _facets(event):
        url = facet.get("_schemaURL", "")
        if not url.startswith((FACETS, OWN)):
            continue
        if url.split("#", 1)[0] not in {str(uri) for uri in REGISTRY}:
            problems.append(f"facet {key}: schema {url} is not vendored in tests/lineage/schemas")
            continue
        problems += [f"facet {key} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                     for e in _validator(url).iter_errors(facet)]
    return problems


def standard_facets(event: dict[str, Any]) -> set[str]:
    """Keys of the event's facets that were validated against a facet schema of their own."""
    return {key for key, facet in _facets(event) if facet.get("_schemaURL", "").startswith((FACETS, OWN))}
