"""``MlflowMetricsDataset``: a node output declared as metrics in the catalog, whatever its name."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from kedro_azureml_mlflow.io.catalog_lookup import declared_dataset


class MlflowMetricsDataset(AbstractDataset[Any, Any]):
    """Marks a node output as metrics, whatever its name; the plugin's hooks log it.

    The value (a number, a dict of numbers, or a list of numbers for steps) is kept for
    downstream nodes and, with ``filepath``, also written as JSON next to the project's data.

    ```yaml
    evaluation:
      type: kedro_azureml_mlflow.datasets.MlflowMetricsDataset
      prefix: eval          # metric names become eval.<key>; default: the dataset's name
      filepath: data/08_reporting/evaluation.json   # optional
    ```
    """

    def __init__(
        self, prefix: str | None = None, filepath: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self.prefix = prefix
        self._filepath = PurePosixPath(filepath) if filepath else None
        self.metadata = metadata
        self._data: Any = None

    def _save(self, data: Any) -> None:
        self._data = data
        if self._filepath is not None:
            path = Path(self._filepath)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2, default=float))

    def _load(self) -> Any:
        if self._data is None and self._filepath is not None and Path(self._filepath).exists():
            self._data = json.loads(Path(self._filepath).read_text())
        if self._data is None:
            raise DatasetError("MlflowMetricsDataset has no data yet: no node has saved it in this run")
        return self._data

    def _exists(self) -> bool:
        return self._data is not None or (self._filepath is not None and Path(self._filepath).exists())

    def _describe(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "filepath": str(self._filepath) if self._filepath else None}


def declared_metric_names(names: Iterable[str], catalog: Any) -> dict[str, str]:
    """The outputs among ``names`` that the catalog declares as metrics, each with the name to log it under."""
    declared = {name: declared_dataset(catalog, name) for name in names}
    return {
        name: dataset.prefix or name for name, dataset in declared.items() if isinstance(dataset, MlflowMetricsDataset)
    }
