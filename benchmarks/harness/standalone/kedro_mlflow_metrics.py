"""Copied into the kedro-mlflow projects' package: the same 500 values, in kedro-mlflow's shape.

kedro-mlflow's ``MlflowMetricsHistoryDataset`` takes ``{"name": {"value": v, "step": s}}``, where the
plugin takes ``{"name": v}``; the project's ``wide`` node is wrapped so both log the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps


def as_metric_history(
    node_function: Callable[[int], dict[str, float]],
) -> Callable[[int], dict[str, dict[str, float]]]:
    @wraps(node_function)
    def history(index: int) -> dict[str, dict[str, float]]:
        return {key: {"value": float(value), "step": 0} for key, value in node_function(index).items()}

    return history
