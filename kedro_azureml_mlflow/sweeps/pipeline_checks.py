"""Checks of a sweep against the pipeline, before any trial runs: does it read each searched
parameter, and does one of its outputs become the objective's metric?

A typo here would otherwise cost a whole sweep of trials that all ignore the value, or whose
objective is never logged.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.sweeps.search_space import SearchDimension
from kedro_azureml_mlflow.tracking.plan.metrics import is_metrics_dataset

_METRICS_DATASET = "MlflowMetricsDataset"


def check_search_names(
    space: Sequence[SearchDimension], parameters: Mapping[str, Any], pipeline_inputs: Iterable[str], pipeline: str
) -> None:
    """Each searched name must be a parameter (dotted into nested ones) that the pipeline reads."""
    read = _read_parameters(pipeline_inputs)
    for dim in space:
        if not _exists(parameters, dim.name):
            known = sorted(_dotted_names(parameters))
            close = difflib.get_close_matches(dim.name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"parameters: {', '.join(known[:20]) or '(none)'}"
            raise PluginError(f"--search {quoted(dim.name)} is not a parameter of the project; {hint}")
        if not any(prefix is None or _covers(prefix, dim.name) for prefix in read):
            raise PluginError(
                f"--search {quoted(dim.name)}: pipeline {quoted(pipeline)} does not read it "
                f"(it reads {', '.join(sorted(f'params:{p}' for p in read if p)) or 'no parameters'})"
            )


def check_fixed_params(space: Sequence[SearchDimension], fixed: Mapping[str, Any]) -> None:
    """A searched parameter cannot also be fixed with ``--params``."""
    leaves = [name for name in _dotted_names(fixed) if not isinstance(_value(fixed, name), Mapping)]
    for dim in space:
        if any(_covers(leaf, dim.name) or _covers(dim.name, leaf) for leaf in leaves):
            raise PluginError(f"--search {quoted(dim.name)} is also fixed by --params; give it in one of them")


def metric_prefixes(outputs: Iterable[str], catalog: Mapping[str, Any], patterns: Sequence[str]) -> dict[str, str]:
    """Metric name prefix -> dataset, for every output the plugin logs as metrics (as ``MetricRules`` does)."""
    prefixes = {}
    for name in outputs:
        entry = catalog.get(name)
        declared = isinstance(entry, Mapping) and str(entry.get("type", "")).endswith(_METRICS_DATASET)
        if declared or is_metrics_dataset(name, patterns):
            prefix = (entry.get("prefix") if declared and isinstance(entry, Mapping) else None) or name
            prefixes[str(prefix)] = name
    return prefixes


def check_objective(objective: str, prefixes: Mapping[str, str], separator: str, pipeline: str) -> None:
    """The objective's metric must start with what an output of the pipeline is logged as.

    The keys inside a metrics dict are known only when the node has run, so only the dataset is checked.
    """
    if any(objective == prefix or objective.startswith(prefix + separator) for prefix in prefixes):
        return
    known = ", ".join(sorted(prefixes)) or "none (tracking.metrics.datasets matches no output)"
    raise PluginError(
        f"--objective {quoted(objective)}: no output of pipeline {quoted(pipeline)} is logged as metrics under "
        f"{quoted(objective.split(separator, maxsplit=1)[0])}; its metrics outputs: {known}"
    )


def _read_parameters(inputs: Iterable[str]) -> list[str | None]:
    """The parameter prefixes the pipeline reads; ``None`` for the whole ``parameters`` dict."""
    read: list[str | None] = []
    for name in inputs:
        if name == "parameters":
            read.append(None)
        elif name.startswith("params:"):
            read.append(name.removeprefix("params:"))
    return read


def _covers(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


_MISSING = object()


def _value(parameters: Mapping[str, Any], dotted: str) -> Any:
    node: Any = parameters
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _exists(parameters: Mapping[str, Any], dotted: str) -> bool:
    return _value(parameters, dotted) is not _MISSING


def _dotted_names(parameters: Mapping[str, Any], prefix: str = "") -> list[str]:
    names = []
    for key, value in parameters.items():
        name = f"{prefix}{key}"
        names.append(name)
        if isinstance(value, Mapping):
            names += _dotted_names(value, f"{name}.")
    return names
