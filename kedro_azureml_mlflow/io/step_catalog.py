"""The step's side of data routes: re-root the catalog so that datasets crossing steps are read
from the input folders and written to the step's output folder.

``step_main`` puts the routes in ``KEDRO_AZUREML_MLFLOW_STEP_DATA`` (JSON: dataset → kind and
folder path); the plugin's ``after_catalog_created`` hook calls :func:`reroute`. A local-path dataset
is rebuilt from its own resolved config (same type and options) with the path moved; a MemoryDataset
becomes a cloudpickle file. Without the variable nothing changes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from kedro_azureml_mlflow.io.catalog_lookup import PATH_KEYS

STEP_DATA_ENV = "KEDRO_AZUREML_MLFLOW_STEP_DATA"


class CloudpickleDataset(AbstractDataset[Any, Any]):
    """A MemoryDataset's value, carried between steps as a cloudpickle file (cloudpickle ships with MLflow)."""

    def __init__(self, filepath: str) -> None:
        self._filepath = Path(filepath)

    def load(self) -> Any:
        import cloudpickle

        with self._filepath.open("rb") as file:
            return cloudpickle.load(file)

    def save(self, data: Any) -> None:
        import cloudpickle

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        with self._filepath.open("wb") as file:
            cloudpickle.dump(data, file)

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


def reroute(catalog: Any, save_version: str | None, load_versions: dict[str, str] | None) -> None:
    """Point each routed dataset of ``catalog`` at its step folder (no-op outside a pipeline step)."""
    raw = os.environ.get(STEP_DATA_ENV)
    if not raw:
        return
    for dataset, route in json.loads(raw).items():
        path = str(route["path"])
        if route["kind"] == "memory":
            catalog[dataset] = CloudpickleDataset(path)
            continue
        config = dict(catalog.config_resolver.resolve_pattern(dataset))
        key = next(k for k in PATH_KEYS if k in config)
        config[key] = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        catalog[dataset] = AbstractDataset.from_config(
            dataset, config, (load_versions or {}).get(dataset), save_version
        )
