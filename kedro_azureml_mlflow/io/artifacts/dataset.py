"""``MlflowArtifactDataset``: any Kedro dataset whose saved file or folder also goes into the run."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord

_LOCAL_PROTOCOLS = {"file", "local", None}


class MlflowArtifactDataset(AbstractDataset[Any, Any]):
    """Saves through the wrapped dataset, then hands the saved file to the run (no waiting).

    ```yaml
    confusion_matrix:
      type: kedro_azureml_mlflow.datasets.MlflowArtifactDataset
      dataset:                     # any dataset that saves to a local filepath
        type: matplotlib.MatplotlibDataset
        filepath: data/08_reporting/confusion_matrix.png
      artifact_path: reports       # the run folder it goes into; default: the run's root
      run_id: null                 # set it to load the file from that run instead of the local one
    ```

    Without a tracked run (tracking off, ``kedro ipython``) it only saves locally.
    """

    def __init__(
        self,
        dataset: dict[str, Any] | str,
        artifact_path: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._dataset: Any = AbstractDataset.from_config("mlflow_artifact", self._config)
        protocol = getattr(self._dataset, "_protocol", None)
        if protocol not in _LOCAL_PROTOCOLS or getattr(self._dataset, "_filepath", None) is None:
            raise DatasetError(
                f"MlflowArtifactDataset needs a dataset that saves to a local filepath; "
                f"{self._config.get('type')} saves to {protocol or 'no filepath'}"
            )
        self._artifact_path = artifact_path.strip("/") if artifact_path else None
        self._run_id = run_id
        self.metadata = metadata

    def _save(self, data: Any) -> None:
        local = self._save_path()
        self._dataset.save(data)
        target = handoff.current()
        if target is not None:
            folder = self._artifact_path
            if local.is_dir():  # a folder keeps its name inside the run folder
                folder = f"{folder}/{local.name}" if folder else local.name
            target.submit(ArtifactRecord(str(local.resolve()), folder, label=local.name))

    def _load(self) -> Any:
        if self._run_id is None:
            return self._dataset.load()
        from kedro_azureml_mlflow.io.artifacts.reading import download

        name = PurePosixPath(str(self._dataset._filepath)).name  # where Kedro datasets keep it
        remote = f"{self._artifact_path}/{name}" if self._artifact_path else name
        scratch = Path(tempfile.mkdtemp(prefix="kedro-azureml-mlflow-"))
        try:
            local = download(f"runs:/{self._run_id}/{remote}", scratch)
            config = {key: value for key, value in self._config.items() if key != "versioned"}
            return AbstractDataset.from_config("mlflow_artifact", {**config, "filepath": str(local)}).load()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _save_path(self) -> Path:
        """The local file the wrapped dataset is about to write (a versioned one's new version)."""
        if getattr(self._dataset, "_version", None) is not None:
            return Path(str(self._dataset._get_save_path()))  # Kedro's own rule
        return Path(str(self._dataset._filepath))

    def _exists(self) -> bool:
        return bool(self._dataset.exists())

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._config.get("type"), "artifact_path": self._artifact_path, "run_id": self._run_id}
