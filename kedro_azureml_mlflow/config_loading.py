"""Load and validate ``azureml.yml`` through the project's own Kedro config loader.

The plugin registers its config pattern itself, so users never edit ``settings.py``; every
validation problem becomes one line naming the file, the key path and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kedro_azureml_mlflow.config import PluginConfig
from kedro_azureml_mlflow.errors import ConfigError, first_line

CONFIG_KEY = "azureml"
CONFIG_PATTERNS = ["azureml*", "azureml*/**", "**/azureml*"]


def register_config_pattern(config_loader: Any) -> None:
    """Teach the project's config loader where ``azureml.yml`` lives (idempotent)."""
    patterns = getattr(config_loader, "config_patterns", None)
    if patterns is not None and CONFIG_KEY not in patterns:
        patterns[CONFIG_KEY] = list(CONFIG_PATTERNS)


def load_plugin_config(config_loader: Any, conf_dirs: list[Path]) -> PluginConfig:
    """Read ``azureml.yml`` (merged across environments) and validate it.

    ``conf_dirs`` are the base and run-env folders, used only to name the file in errors.
    A project without the file gets the defaults: embedded local tracking.
    """
    from kedro.config import MissingConfigException

    register_config_pattern(config_loader)
    try:
        raw = config_loader[CONFIG_KEY]
    except MissingConfigException:
        raw = {}
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{_describe(conf_dirs)}: {first_line(exc)}") from None
    return validate_plugin_config(raw or {}, conf_dirs)


def validate_plugin_config(raw: Any, conf_dirs: list[Path]) -> PluginConfig:
    """Validate an already-merged mapping; errors name the file that holds the bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{_describe(conf_dirs)}: expected a mapping of sections "
            f"(workspace, credentials, tracking, submit), got {type(raw).__name__}"
        )
    try:
        return PluginConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(err, conf_dirs) for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def _format_error(err: Any, conf_dirs: list[Path]) -> str:
    path = [str(part) for part in err["loc"]]
    key = ".".join(path) or "(top level)"
    where = _file_holding(path, conf_dirs)
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = ".".join(path[:-1])
        allowed = _allowed_keys(path[:-1])
        return f"{where}: {key}: unknown key{f' in {parent}' if parent else ''}; expected one of: {allowed}"
    if kind == "missing":
        return f"{where}: {key}: field required"
    message = err["msg"]
    return f"{where}: {key}: {message} (got {err.get('input')!r})"


def _allowed_keys(section: list[str]) -> str:
    model: Any = PluginConfig
    for part in section:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next((c for c in candidates if hasattr(c, "model_fields")), None)
        if model is None:
            return "(none)"
    return ", ".join(model.model_fields)


def _file_holding(path: list[str], conf_dirs: list[Path]) -> str:
    """The last file (run env beats base) in which the offending key path's parent exists."""
    files = _config_files(conf_dirs)
    for file in reversed(files):
        try:
            node: Any = yaml.safe_load(file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        for part in path[:-1] if len(path) > 1 else path[:1]:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return str(file)
    return str(files[-1]) if files else _describe(conf_dirs)


def _config_files(conf_dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in conf_dirs:
        found.extend(sorted(p for p in folder.glob("**/azureml*") if p.suffix in {".yml", ".yaml", ".json"}))
    return found


def _describe(conf_dirs: list[Path]) -> str:
    files = _config_files(conf_dirs)
    return str(files[-1]) if files else " or ".join(f"{d}/azureml.yml" for d in conf_dirs)
