"""Turn pydantic validation errors into file:line:column errors with hints."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError

from tenantflow.config.errors import ConfigError
from tenantflow.config.yaml_source import YamlDocument, locate

_DISCRIMINATORS = ("kind", "broker", "rule")  # broker: queue sources, a union within the source union


def validate_document(
    model: type[BaseModel], data: dict[str, Any], document: YamlDocument, fallback: YamlDocument | None = None
) -> tuple[BaseModel | None, list[ConfigError]]:
    """Validate ``data`` (the document merged over defaults) against ``model``.

    Errors point into ``document``; a field that only exists in defaults points into
    ``fallback`` (the platform defaults file) when given.
    """
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_to_config_error(model, data, err, document, fallback) for err in exc.errors()]


def _to_config_error(
    model: type[BaseModel],
    data: dict[str, Any],
    err: Any,
    document: YamlDocument,
    fallback: YamlDocument | None,
) -> ConfigError:
    loc = _clean_loc(data, err["loc"])
    if err["type"] == "union_tag_invalid":  # point at the tag's own line (`broker: rabbit`), not its mapping
        tag = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        if tag == "broker":  # (a wrong `kind` keeps pointing at `source:`, as it always did)
            loc = (*loc, tag)
    line, column, found = locate(document.text, loc)
    path = document.path
    if not found and fallback is not None and err["type"] != "missing":
        fb_line, fb_column, fb_found = locate(fallback.text, ("defaults", *_defaults_section(model), *loc))
        if fb_found:
            line, column, path = fb_line, fb_column, fallback.path
    if (below := _below(err)) and found:  # point at the wrong value inside the field
        line, column, found = locate(document.text, (*loc, *below))
        loc = (*loc, *below)
    field = ".".join(str(step) for step in loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "field required"
    elif err["type"] == "extra_forbidden":
        message = "unknown field"
    sql_error = _sql_error(err)
    if sql_error is not None and found:
        return _sql_config_error(document, loc, message, sql_error)
    return ConfigError(path, line, column, field, message, _hint(model, data, err, loc))


def _below(err: Any) -> tuple[str | int, ...]:
    from tenantflow.config.quality_rules import KwargError

    error = (err.get("ctx") or {}).get("error")
    return error.path if isinstance(error, KwargError) else ()


def _sql_error(err: Any) -> Any:
    from tenantflow.config.transform import SqlSyntaxError

    error = (err.get("ctx") or {}).get("error")
    return error if isinstance(error, SqlSyntaxError) else None


def _sql_config_error(document: YamlDocument, loc: tuple[str | int, ...], message: str, error: Any) -> ConfigError:
    """Point a transform SQL error at its line in the YAML file (block scalars start on the next line)."""
    sql_loc = (*loc, "sql") if loc and loc[-1] != "sql" else loc
    line, column, found = locate(document.text, sql_loc)
    lines = document.text.splitlines()
    if found and lines[line - 1].rstrip().endswith(("|", "|-", "|+", ">", ">-", ">+")) \
            and line + error.line <= len(lines):
        line += error.line
        text = lines[line - 1]
        column = len(text) - len(text.lstrip()) + error.column
    hint = "the query may read `batch` and the names in `transform.lookups`; write Spark SQL"
    return ConfigError(document.path, line, column, ".".join(str(s) for s in sql_loc), message, hint)


def _defaults_section(model: type[BaseModel]) -> tuple[str, ...]:
    return ("pipeline",) if model.__name__ == "PipelineConfig" else ("tenant",)


def _clean_loc(data: Any, loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """Drop the union-tag steps pydantic inserts for discriminated unions (source.sql.table -> source.table)."""
    out: list[str | int] = []
    node = data
    fresh = True  # just descended into ``node``: pydantic puts a union's tag right here (queue sources: two)
    tags: set[str] = set()  # the tags of ``node`` skipped already
    for step in loc:
        if isinstance(node, dict):
            tag = next((key for key in _DISCRIMINATORS if key not in tags and node.get(key) == step), None)
            if fresh and (tag is not None or (step == "gx" and "gx" in node and "gx" not in tags)):
                tags.add(tag or "gx")
                continue  # the tag pydantic adds for the chosen union member
            fresh, tags = True, set()
            if step in node:
                out.append(step)
                node = node[step]
                continue
            out.append(step)
            node = None
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            out.append(step)
            node = node[step]
            fresh, tags = True, set()
        else:
            out.append(step)
            node = None
    return tuple(out)


def _hint(model: type[BaseModel], data: Any, err: Any, loc: tuple[str | int, ...]) -> str:
    kind = err["type"]
    if kind == "missing":
        return f"add `{loc[-1]}:` here" if loc else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(model, data, loc[:-1])
        if not allowed:
            return "remove this field"
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f"did you mean `{close[0]}`? " if close else ""
        return f"{suggestion}allowed fields: {', '.join(sorted(allowed))}"
    if kind == "union_tag_invalid":
        expected = [t.strip(" '") for t in str(err.get("ctx", {}).get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(str(err.get("ctx", {}).get("tag", "")), expected, n=1)
        return f"did you mean {close[0]!r}?" if close else ""
    if kind == "union_tag_not_found" and loc and loc[0] == "quality":
        return "start the item with `rule:` (a tenantflow rule) or `gx:` (a Great Expectations expectation)"
    expected = {"string": "a text", "int": "an integer", "float": "a number", "bool": "a true/false"}
    if kind in ("string_type", "int_type", "float_type", "bool_type", "int_parsing", "float_parsing", "bool_parsing"):
        return f"expected {expected[kind.split('_')[0]]} value"
    return ""


def _fields_at(model: type[BaseModel], data: Any, loc: Sequence[str | int]) -> list[str]:
    """Field names of the model found at ``loc`` (following discriminated unions by their tag)."""
    annotation: Any = model
    node = data
    for step in loc:
        annotation = _resolve(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(step))
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            annotation = args[0] if args else None
        node = node.get(step) if isinstance(node, dict) else node[step] if isinstance(node, list) else None
    annotation = _resolve(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _resolve(annotation: Any, node: Any) -> Any:
    """Unwrap Annotated/Optional/unions to the model the data selects."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = _members(annotation)
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            chosen = _by_tag(models, node) if len(models) > 1 else (models or members)[0]
            if chosen is None:
                return None
            annotation = chosen
        elif origin in (tuple, list) and isinstance(node, list):
            return annotation
        else:
            return annotation


def _members(annotation: Any) -> list[Any]:
    """The members of a union, tagged (Annotated) members unwrapped and nested unions flattened."""
    out: list[Any] = []
    for arg in typing.get_args(annotation):
        if arg is type(None):
            continue
        if typing.get_origin(arg) is typing.Annotated:
            arg = typing.get_args(arg)[0]
        out.extend(_members(arg) if typing.get_origin(arg) in (Union, types.UnionType) else [arg])
    return out


def _by_tag(models: list[type[BaseModel]], node: Any) -> type[BaseModel] | None:
    """The model whose every tag (``kind``, and ``broker`` for queue sources) matches the node's."""
    if not isinstance(node, dict):
        return None
    for model in models:
        if "gx" in node and "rule" not in node and "gx" in model.model_fields:  # a GX expectation item
            return model
        tags = [(key, typing.get_args(field.annotation)) for key in _DISCRIMINATORS
                if (field := model.model_fields.get(key)) is not None
                and typing.get_origin(field.annotation) is Literal]
        if tags and all(node.get(key) in values for key, values in tags):
            return model
    return None
