"""MkDocs hook: the configuration reference, generated from the pydantic models at every build.

``docs/configuration.md`` holds the marker ``<!-- config-reference -->``; this hook replaces it with
the defaults as YAML and one table per section, from :class:`kedro_azureml_mlflow.settings.config.PluginConfig`.
A field added to the models appears here without anyone editing the page, so it cannot drift.
"""

from __future__ import annotations

import types
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.descriptions import field_descriptions

MARKER = "<!-- config-reference -->"
SCALARS: dict[Any, str] = {bool: "boolean", str: "string", int: "integer", float: "number", type(None): "null"}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs calls this for every page; only the marked page changes."""
    return markdown.replace(MARKER, render_reference()) if MARKER in markdown else markdown


def render_reference() -> str:
    defaults = yaml.safe_dump(PluginConfig().model_dump(mode="json"), sort_keys=False)
    parts = [
        "## Defaults",
        "",
        "An empty `azureml.yml` is the same as this one:",
        "",
        "```yaml",
        defaults.rstrip(),
        "```",
    ]
    for path, model in sections(PluginConfig):
        parts += ["", f"## `{path}`", "", (model.__doc__ or "").strip(), "", *table(path, model)]
    return "\n".join(parts) + "\n"


def sections(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type[BaseModel]]]:
    """Every nested model under ``model``, depth first, with its key path (``tracking.params``)."""
    found: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        nested = submodel(field.annotation)
        if nested is not None:
            path = f"{prefix}{name}"
            found += [(path, nested), *sections(nested, f"{path}.")]
    return found


def submodel(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``X`` or ``X | None``), if it holds one."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def table(path: str, model: type[BaseModel]) -> list[str]:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    descriptions = field_descriptions(model)
    for name, field in model.model_fields.items():
        description = " ".join(descriptions.get(name, "").split())
        rows.append(
            f"| `{path}.{name}` | {type_name(field.annotation)}{limits(field)} | {default(field)} | {description} |"
        )
    return rows


def type_name(annotation: Any) -> str:
    """How a reader of a YAML file would call the type."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return " \\| ".join(type_name(arg) for arg in args)
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        values = args if origin is Literal else tuple(member.value for member in annotation)
        return " \\| ".join(f"`{value}`" for value in values)
    if origin in (list, dict):
        return f"{'list' if origin is list else 'mapping'} of {' to '.join(type_name(arg) for arg in args)}"
    return SCALARS.get(annotation, "section" if submodel(annotation) else str(annotation))


def limits(field: FieldInfo) -> str:
    """Constraints that reject a value (``≥ 1``, ``not empty``), as the error message would say."""
    said = []
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            said.append(f"≥ {rule.ge}")
        elif isinstance(rule, annotated_types.Gt):
            said.append(f"> {rule.gt}")
        elif isinstance(rule, annotated_types.MinLen) and rule.min_length == 1:
            said.append("not empty")
    return f" ({', '.join(said)})" if said else ""


def default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, Enum):
        value = value.value
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"
