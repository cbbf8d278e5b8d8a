"""Load and validate ``azureml.yml`` through the project's own Kedro config loader.

The plugin registers its config pattern itself, so users never edit ``settings.py``; every
validation problem becomes one line naming the file, the key path and what was expected.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from kedro_azureml_mlflow.core.errors import ConfigError, first_line
from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.validation import describe_error

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

CONFIG_KEY = "azureml"
CONFIG_PATTERNS = ["azureml*", "azureml*/**", "**/azureml*"]
# Turns tracking off for a run or a whole CI job without editing azureml.yml (a project's own tests).
TRACKING_SWITCH = "KEDRO_AZUREML_MLFLOW_TRACKING"
_SWITCH_OFF = frozenset({"off", "false", "0", "no"})
_SWITCH_ON = frozenset({"on", "true", "1", "yes", ""})

logger = logging.getLogger(__name__)


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
    from omegaconf.errors import OmegaConfBaseException

    register_config_pattern(config_loader)
    try:
        raw = config_loader[CONFIG_KEY]
    except MissingConfigException:
        raw = {}
    except (
        yaml.YAMLError,
        ValueError,
        OSError,
        OmegaConfBaseException,
        AttributeError,
        TypeError,
        AssertionError,
    ) as exc:
        # Kedro's loader cannot merge a file whose top level is not a mapping, nor one with a key that
        # is not text (``0:`` raises AttributeError inside Kedro; a quoted scalar such as ``'0'`` an
        # AssertionError inside omegaconf): say which file.
        _raise_for_malformed_file(conf_dirs)
        raise ConfigError(f"{_describe(conf_dirs)}: {first_line(exc)}") from None
    return validate_plugin_config(raw or {}, conf_dirs)


def validate_plugin_config(raw: Any, conf_dirs: list[Path]) -> PluginConfig:
    """Validate an already-merged mapping; errors name the file that holds the bad key."""
    if not isinstance(raw, dict):
        raise ConfigError(_expected_mapping(_describe(conf_dirs), raw))
    try:
        return PluginConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(err, conf_dirs) for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def _format_error(err: ErrorDetails, conf_dirs: list[Path]) -> str:
    path = [str(part) for part in err["loc"]]
    return describe_error(err, _file_holding(path, conf_dirs), PluginConfig)


def _expected_mapping(where: str, raw: Any) -> str:
    sections = ", ".join(PluginConfig.model_fields)
    return f"{where}: (top level): expected a mapping of sections ({sections}), got {type(raw).__name__}"


def _raise_for_malformed_file(conf_dirs: list[Path]) -> None:
    """Name the first config file Kedro cannot merge: not a mapping, or a key that is not text."""
    for file in _config_files(conf_dirs):
        try:
            node = _read_yaml(file)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except (OSError, yaml.YAMLError):
            continue
        if node is not None and not isinstance(node, dict):
            raise ConfigError(_expected_mapping(str(file), node))
        found = _key_not_text(node, [])
        if found is not None:
            path, key = found
            where = ".".join([*path, str(key)])
            raise ConfigError(f"{file}: {where}: expected a name (text) as key, got {type(key).__name__} {key!r}")


def _key_not_text(node: Any, path: list[str]) -> tuple[list[str], Any] | None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                return path, key
            found = _key_not_text(value, [*path, key])
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found = _key_not_text(item, [*path, f"[{index}]"])
            if found is not None:
                return found
    return None


def _file_holding(path: list[str], conf_dirs: list[Path]) -> str:
    """The last file (run env beats base) in which the offending key path's parent exists."""
    files = _config_files(conf_dirs)
    for file in reversed(files):
        try:
            node: Any = _read_yaml(file) or {}
        except (OSError, yaml.YAMLError):
            continue
        for part in path[:-1] if len(path) > 1 else path[:1]:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return str(file)
    return str(files[-1]) if files else _describe(conf_dirs)


def _read_yaml(file: Path) -> Any:
    """A config file read again to name the file an error is in: with libyaml where PyYAML has it (a file
    of megabytes, such as a pasted experiment name, took seconds in pure Python, per file)."""
    return yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _config_files(conf_dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in conf_dirs:
        found.extend(sorted(p for p in folder.glob("**/azureml*") if p.suffix in {".yml", ".yaml", ".json"}))
    return found


def _describe(conf_dirs: list[Path]) -> str:
    files = _config_files(conf_dirs)
    return str(files[-1]) if files else " or ".join(f"{d}/azureml.yml" for d in conf_dirs)


def tracking_switched_off() -> bool:
    """Whether ``KEDRO_AZUREML_MLFLOW_TRACKING`` turns tracking off (said in the log when it does)."""
    value = os.environ.get(TRACKING_SWITCH, "").strip().lower()
    if value in _SWITCH_OFF:
        logger.info("Not tracking: %s=%s", TRACKING_SWITCH, os.environ[TRACKING_SWITCH])
        return True
    if value in _SWITCH_ON:
        return False
    raise ConfigError(f"{TRACKING_SWITCH}: expected on or off (got {os.environ[TRACKING_SWITCH]!r})")
