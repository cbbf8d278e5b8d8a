"""Turn Kedro's run parameters into MLflow params within MLflow's limits."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.config import LongParamStrategy, ParamsConfig

MAX_PARAM_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
AZUREML_MAX_PARAMS = 200
PARAMS_ARTIFACT = "kedro/params.json"
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


@dataclass
class PreparedParams:
    """What the run's parameters become: params, tags, and whole values kept in ``kedro/params.json``."""

    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)


def max_params_for(tracking_uri: str | None, workspace: object = None) -> int | None:
    """Azure ML keeps at most 200 params per run (a workspace, or an ``azureml://`` URI); other stores have no limit."""
    on_azure = workspace is not None or urlparse(tracking_uri or "").scheme == "azureml"
    return AZUREML_MAX_PARAMS if on_azure else None


def prepare_params(params: Mapping[str, Any], config: ParamsConfig, max_params: int | None = None) -> PreparedParams:
    """Params, tags and kept values for the run's parameters, within MLflow's and the store's limits.

    A value too long for a param follows ``long_values``; with ``tag`` it is kept whole, in a
    ``kedro.param.<key>`` tag when it fits one and otherwise in the params artifact. Past
    ``max_params``, the rest go whole into that artifact too, so the store refuses nothing.
    """
    flat = flatten(params, config.separator) if config.flatten else dict(params)
    prepared = PreparedParams()
    too_long = 0
    for key, value in flat.items():
        if len(key) > MAX_PARAM_KEY:
            logger.warning(
                "Parameter %r not logged: its name is over MLflow's %d characters", key[:60] + "…", MAX_PARAM_KEY
            )
            continue
        text = to_text(value)
        if len(text) <= MAX_PARAM_VALUE:
            prepared.params.append((key, text))
        elif config.long_values is LongParamStrategy.fail:
            raise PluginError(
                f"Parameter '{key}' is {len(text)} characters, over MLflow's {MAX_PARAM_VALUE}; "
                "set tracking.params.long_values to 'truncate' or 'tag' in azureml.yml to log it anyway"
            )
        elif config.long_values is LongParamStrategy.truncate:
            prepared.params.append((key, text[:MAX_PARAM_VALUE]))
        elif len(text) <= MAX_TAG_VALUE:
            prepared.tags.append((LONG_PARAM_TAG_PREFIX + key, text))
        else:
            prepared.kept[key] = text
            too_long += 1
    if max_params is not None and len(prepared.params) > max_params:
        prepared.kept.update(prepared.params[max_params:])
        prepared.params = prepared.params[:max_params]
    if prepared.kept:
        _warn_kept(len(prepared.kept) - too_long, too_long, max_params)
    return prepared


def _warn_kept(overflow: int, too_long: int, max_params: int | None) -> None:
    reasons = []
    if overflow:
        reasons.append(f"{overflow} past Azure ML's {max_params} params per run")
    if too_long:
        reasons.append(f"{too_long} longer than a tag's {MAX_TAG_VALUE} characters")
    logger.warning(
        "%d parameters are kept whole in the run's artifact %s instead of as params (%s)",
        overflow + too_long,
        PARAMS_ARTIFACT,
        " and ".join(reasons),
    )
