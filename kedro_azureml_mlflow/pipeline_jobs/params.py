"""The parameters each step's nodes read, as literal inputs of the pipeline job.

A Studio resubmit (and a schedule) can change a pipeline input without a new upload, so every
parameter a node reads (``params:<key>``, or each top-level key for ``parameters``) is one input:
numbers, booleans and text as they are, lists and dicts (and ``null``) as JSON text. The step turns
them back into Kedro's runtime parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kedro_azureml_mlflow.pipeline_jobs.naming import safe_names

ParamType = Literal["boolean", "integer", "number", "string", "json"]
INPUT_PREFIX = "p_"
PARAMS_PREFIX = "params:"
ALL_PARAMS = "parameters"


@dataclass(frozen=True)
class ParamInput:
    """One parameter as a pipeline input: its Kedro key, input name, type and value."""

    key: str
    input_name: str
    type: ParamType
    value: bool | int | float | str


def keys_read(node_inputs: Iterable[str], parameters: Mapping[str, Any]) -> list[str]:
    """The parameter keys a step's node inputs name (``parameters``: every top-level key)."""
    keys: list[str] = []
    for name in node_inputs:
        if name == ALL_PARAMS:
            keys.extend(str(key) for key in parameters)
        elif name.startswith(PARAMS_PREFIX):
            keys.append(name.removeprefix(PARAMS_PREFIX))
    return list(dict.fromkeys(keys))


def param_inputs(keys: Iterable[str], parameters: Mapping[str, Any]) -> dict[str, ParamInput]:
    """Each key (dotted for nested) as a pipeline input; keys the parameters lack are left to Kedro."""
    found = {key: value for key in dict.fromkeys(keys) if (value := lookup(parameters, key)) is not _MISSING}
    names = safe_names(found, prefix=INPUT_PREFIX)
    return {key: ParamInput(key, names[key], *as_literal(value)) for key, value in found.items()}


def as_literal(value: Any) -> tuple[ParamType, bool | int | float | str]:
    if isinstance(value, bool):
        return "boolean", value
    if isinstance(value, int):
        return "integer", value
    if isinstance(value, float):
        return "number", value
    if isinstance(value, str):
        return "string", value
    return "json", json.dumps(value, sort_keys=True, default=str)


def from_literal(type_: ParamType, text: str) -> Any:
    """The value a step receives as text, back in its Kedro type."""
    if type_ == "boolean":
        return text.strip().lower() in {"true", "1", "yes"}
    if type_ == "integer":
        return int(text)
    if type_ == "number":
        return float(text)
    if type_ == "json":
        return json.loads(text)
    return text


def nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"model.C": 1}`` → ``{"model": {"C": 1}}``: Kedro's runtime parameters."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


_MISSING = object()


def lookup(parameters: Mapping[str, Any], key: str) -> Any:
    """A dotted key's value, as Kedro reads ``params:a.b``."""
    if key in parameters:
        return parameters[key]
    value: Any = parameters
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value
