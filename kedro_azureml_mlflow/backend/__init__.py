"""Run MLflow Projects as Azure ML command jobs (SDK v2): the ``azureml-v2`` project backend.

``AzureMLProjectBackend`` is resolved lazily so that the submodules (options, environment…) can be
imported without importing MLflow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AzureMLProjectBackend"]


def __getattr__(name: str) -> Any:
    if name == "AzureMLProjectBackend":
        from kedro_azureml_mlflow.backend.mlflow_backend import AzureMLProjectBackend

        return AzureMLProjectBackend
    raise AttributeError(name)
