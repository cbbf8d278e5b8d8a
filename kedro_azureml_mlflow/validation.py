"""Pydantic's validation errors as the plugin's one-line messages.

``azureml.yml`` and an MLflow ``backend_config`` are both checked by pydantic models; both report
each problem the same way: ``<where>: <key path>: <what was expected>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported by the models already; this module needs it only for types
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails


def describe_error(error: ErrorDetails, where: str, model: type[BaseModel]) -> str:
    """One line for one error of ``model.model_validate``; ``where`` names the file or the input."""
    path = [str(part) for part in error["loc"]]
    key = ".".join(path) or "(top level)"
    if error["type"] == "extra_forbidden":
        parent = ".".join(path[:-1])
        within = f" in {parent}" if parent else ""
        return f"{where}: {key}: unknown key{within}; expected one of: {allowed_keys(model, path[:-1])}"
    if error["type"] == "missing":
        return f"{where}: {key}: field required"
    return f"{where}: {key}: {error['msg']} (got {error.get('input')!r})"


def allowed_keys(model: type[BaseModel], section: list[str]) -> str:
    """The keys the model accepts at ``section`` (a key path), as a user writes them (aliases first)."""
    current: Any = model
    for part in section:
        field = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next((c for c in candidates if hasattr(c, "model_fields")), None)
        if current is None:
            return "(none)"
    return ", ".join(field.alias or name for name, field in current.model_fields.items())
