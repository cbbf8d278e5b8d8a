"""Turn Kedro's run parameters into MLflow params within MLflow's limits."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from kedro_azureml_mlflow.config import LongParamStrategy, ParamsConfig
from kedro_azureml_mlflow.errors import PluginError

MAX_PARAM_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
AZUREML_MAX_PARAMS = 200
LONG_PARAM_TAG_PREFIX = "kedro.param."

logger = logging.getLogger(__name__)


def flatten(values: Mapping[str, Any], separator: str, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"C": 1}}`` → ``{"model.C": 1}``; lists and scalars are leaves."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{separator}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, separator, name))
        else:
            flat[name] = value
    return flat


def to_text(value: Any) -> str:
    """How a parameter value reads in MLflow: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def prepare_params(
    params: Mapping[str, Any], config: ParamsConfig
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(params, tags) to log for the run's parameters, applying the long-value strategy."""
    flat = flatten(params, config.separator) if config.flatten else dict(params)
    logged: list[tuple[str, str]] = []
    tags: list[tuple[str, str]] = []
    for key, value in flat.items():
        if len(key) > MAX_PARAM_KEY:
            logger.warning(
                "Parameter %r not logged: its name is over MLflow's %d characters", key[:60] + "…", MAX_PARAM_KEY
            )
            continue
        text = to_text(value)
        if len(text) <= MAX_PARAM_VALUE:
            logged.append((key, text))
        elif config.long_values is LongParamStrategy.fail:
            raise PluginError(
                f"Parameter '{key}' is {len(text)} characters, over MLflow's {MAX_PARAM_VALUE}; "
                "set tracking.params.long_values to 'truncate' or 'tag' in azureml.yml to log it anyway"
            )
        elif config.long_values is LongParamStrategy.truncate:
            logged.append((key, text[:MAX_PARAM_VALUE]))
        else:
            tags.append((LONG_PARAM_TAG_PREFIX + key, text[:MAX_TAG_VALUE]))
    if len(logged) > AZUREML_MAX_PARAMS:
        logger.warning(
            "%d parameters logged; Azure ML keeps at most %d per run (set tracking.params.flatten "
            "to false or log fewer)",
            len(logged),
            AZUREML_MAX_PARAMS,
        )
    return logged, tags
