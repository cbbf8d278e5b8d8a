"""Pydantic's validation errors as the plugin's one-line messages.

``azureml.yml`` and an MLflow ``backend_config`` are both checked by pydantic models; both report
each problem the same way: ``<where>: <key path>: <what was expected>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kedro_azureml_mlflow.core.redaction import REDACTED, Redactor

MAX_SHOWN = 80  # characters of an offending value (or key) quoted in an error line

if TYPE_CHECKING:  # pydantic is imported by the models already; this module needs it only for types
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails


def describe_error(error: ErrorDetails, where: str, model: type[BaseModel]) -> str:
    """One line for one error of ``model.model_validate``; ``where`` names the file or the input."""
    path = [str(part) for part in error["loc"]]
    key = _key_path(path) or "(top level)"
    if error["type"] == "extra_forbidden":
        parent = _key_path(path[:-1])
        within = f" in {parent}" if parent else ""
        return f"{where}: {key}: unknown key{within}; expected one of: {allowed_keys(model, path[:-1])}"
    if error["type"] == "missing":
        return f"{where}: {key}: field required"
    # A validator's own ValueError reads better without pydantic's "Value error, " in front.
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{where}: {key}: {message} (got {_shown(path, error.get('input'))})"


def _key_path(path: list[str]) -> str:
    """A key path fit for one line: odd keys quoted, long ones cut."""
    return ".".join(part if part.isprintable() and len(part) <= MAX_SHOWN else repr(part[:MAX_SHOWN]) for part in path)


def _shown(path: list[str], value: Any) -> str:
    """The offending value for an error line: secrets masked, long values cut."""
    redactor = Redactor()
    if any(redactor.is_secret(part) for part in path):
        return REDACTED
    text = redactor.text(repr(value))
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}… ({len(text)} characters)"


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
