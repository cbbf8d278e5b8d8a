"""Which compute each step runs on: ``submit.compute_by_tag`` by its nodes' tags, else ``--compute``."""

from __future__ import annotations

from collections.abc import Mapping

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.config import StepComputeConfig


def step_compute(
    step: str, node_tags: Mapping[str, frozenset[str]], compute_by_tag: Mapping[str, str | StepComputeConfig]
) -> StepComputeConfig | None:
    """The one compute a step's tagged nodes ask for (None: the default); asking for two is an error."""
    asked: dict[str, tuple[str, StepComputeConfig]] = {}  # node -> (tag, compute)
    for node, tags in node_tags.items():
        wanted = sorted(tag for tag in tags if tag in compute_by_tag)
        if len(wanted) > 1:
            raise PluginError(
                f"node `{node}` carries {', '.join(wanted)}: submit.compute_by_tag gives it more than one compute; "
                "keep one of these tags per node"
            )
        if wanted:
            asked[node] = (wanted[0], _as_config(compute_by_tag[wanted[0]]))
    computes = {config.model_dump_json(): config for _, config in asked.values()}
    if len(computes) > 1:
        which = ", ".join(f"`{node}` ({tag}: {config.compute})" for node, (tag, config) in sorted(asked.items()))
        raise PluginError(
            f"step `{step}` holds nodes asking for different computes: {which}; "
            "split them into different steps or give them the same compute tag"
        )
    return next(iter(computes.values()), None)


def _as_config(value: str | StepComputeConfig) -> StepComputeConfig:
    return StepComputeConfig(compute=value) if isinstance(value, str) else value
