"""Node outputs logged as files automatically, like the automatic metrics.

An output whose dataset name matches ``tracking.artifacts.datasets`` is written to the run's
staging folder (a figure as PNG or HTML, a dict or list as JSON, a DataFrame as CSV or parquet,
text as text) and handed over for upload. Outputs declared as ``MlflowArtifactDataset`` log
themselves and are skipped here.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.io.artifacts.formats import DataFrameFormat, OutputFile, as_file, type_name
from kedro_azureml_mlflow.io.catalog_lookup import declared_dataset
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord

logger = logging.getLogger(__name__)

_DECLARE = "declare it in the catalog as kedro_azureml_mlflow.datasets.MlflowArtifactDataset"


@dataclass(frozen=True)
class ArtifactRules:
    """Which outputs are logged as files, in which format, up to which size."""

    patterns: tuple[str, ...]
    dataframe_format: DataFrameFormat = "csv"
    max_mb: float = 10.0

    def matches(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)

    def log_outputs(self, outputs: dict[str, Any], catalog: Any) -> None:
        """Stage and hand over every matching output (no-op without a tracked run)."""
        target = handoff.current()
        if target is None or not self.patterns:
            return
        for name, value in outputs.items():
            if self.matches(name) and not _logs_itself(catalog, name):
                self._log_one(target, name, value)

    def _log_one(self, target: handoff.Handoff, name: str, value: Any) -> None:
        file = as_file(value, self.dataframe_format)
        if file is None:
            logger.warning(
                "Output '%s' matches tracking.artifacts.datasets but is a %s, which the plugin cannot write as a "
                "file (it writes figures, JSON-able dicts and lists, DataFrames and text); not logged. To log it, %s "
                "wrapping a dataset that can save it",
                name,
                type_name(value),
                _DECLARE,
            )
            return
        if file.size_bytes > self.max_mb * 1e6:
            logger.warning(
                "Output '%s' (a %s of %s MB) is over tracking.artifacts.max_mb (%s MB); not logged. To log it "
                "anyway, raise tracking.artifacts.max_mb in azureml.yml, or %s",
                name,
                file.kind,
                f"{file.size_bytes / 1e6:.1f}",
                f"{self.max_mb:g}",
                _DECLARE,
            )
            return
        self._stage(target, name, file)

    @staticmethod
    def _stage(target: handoff.Handoff, name: str, file: OutputFile) -> None:
        path = target.staged_path(name + file.suffix)
        try:
            file.write(path)
        except Exception as exc:  # noqa: BLE001 - a file the plugin cannot write never fails the pipeline
            logger.warning(
                "Output '%s' could not be written as a %s file (%s); not logged", name, file.suffix, first_line(exc)
            )
            return
        target.submit(ArtifactRecord(str(path), owned=True, label=name))


def _logs_itself(catalog: Any, name: str) -> bool:
    from kedro_azureml_mlflow.io.artifacts.dataset import MlflowArtifactDataset

    return isinstance(declared_dataset(catalog, name), MlflowArtifactDataset)
