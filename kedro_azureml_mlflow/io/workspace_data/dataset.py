"""``AzureMLDataset``: any Kedro dataset, on data kept in the Azure ML workspace.

kedro-datasets cannot open ``azureml:`` paths itself: Kedro's path parsing drops the
``subscriptions``/``datastores`` part of an ``azureml://`` URI (it keeps the host only for the cloud
protocols it knows), reads ``azureml:<name>:<version>`` as a local file name, and azureml-fsspec opens
files for reading only. So this dataset moves the bytes and lets the wrapped dataset read and write a
local copy, as an Azure ML job's ``download`` and ``upload`` modes do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import parse_dataset_definition

from kedro_azureml_mlflow.core.errors import PluginError, first_line, quoted
from kedro_azureml_mlflow.io.workspace_data.access import WorkspaceAccess, project_access, require_fsspec
from kedro_azureml_mlflow.io.workspace_data.locations import DataAsset, DatastorePath, parse_location

OVERWRITE = "MERGE_WITH_OVERWRITE"  # azureml-fsspec's put: replace what is there, keep the rest


class AzureMLDataset(AbstractDataset[Any, Any]):
    """Loads and saves any Kedro dataset at a datastore path or a data asset of the workspace.

    ```yaml
    iris:
      type: kedro_azureml_mlflow.datasets.AzureMLDataset
      path: azureml://datastores/workspaceblobstore/paths/iris/iris.csv   # or azureml:iris:1
      dataset: pandas.CSVDataset       # or {type: pandas.CSVDataset, load_args: {sep: ";"}}
    ```

    Loading downloads the file (a folder: a path ending in ``/``, or a folder data asset) through
    azureml-fsspec and loads the local copy with ``dataset``; saving saves with ``dataset`` locally,
    then uploads. The short ``azureml://datastores/…`` form uses the project's workspace; sign-in is
    the project's ``credentials:`` (inside a job, the job's own identity first).
    """

    def __init__(
        self,
        path: str,
        dataset: str | type[AbstractDataset[Any, Any]] | dict[str, Any],
        filepath_arg: str = "filepath",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        try:
            self._location = parse_location(path)
        except ValueError as exc:
            raise PluginError(f"path: {exc} (got {quoted(path, 300)})") from None
        require_fsspec(path)
        self._path = path
        definition = dataset if isinstance(dataset, dict) else {"type": dataset}
        self._dataset_type, self._dataset_config = parse_dataset_definition(definition)
        self._filepath_arg = filepath_arg
        self._access: WorkspaceAccess = project_access()
        self._downloads: tempfile.TemporaryDirectory[str] | None = None
        self.metadata = metadata

    def load(self) -> Any:
        location, is_folder = self._readable()
        self._release_downloads()
        self._downloads = tempfile.TemporaryDirectory(prefix="kedro-azureml-data-")
        local = Path(self._downloads.name) / (_name(location) if not is_folder else "data")
        fs = self._access.filesystem(location)
        uri = self._access.datastore_uri(location)
        if is_folder:
            fs.get(uri, f"{local}/", recursive=True)
        else:
            fs.get(uri, f"{local.parent}/")
        return self._wrapped(local).load()

    def save(self, data: Any) -> None:
        location = self._location
        if isinstance(location, DataAsset):
            raise PluginError(
                f"{self._path}: a data asset version cannot be written; save to a datastore path "
                "(azureml://datastores/<datastore>/paths/<path>) and register a new version from it"
            )
        fs = self._access.filesystem(location)
        with tempfile.TemporaryDirectory(prefix="kedro-azureml-data-") as staging:
            if location.is_folder:
                local = Path(staging) / "data"
                self._wrapped(local).save(data)
                fs.put(str(local), self._access.datastore_uri(location), recursive=True, overwrite=OVERWRITE)
            else:
                local = Path(staging) / _name(location)
                self._wrapped(local).save(data)
                parent = DatastorePath(location.datastore, _parent(location.path), location.workspace)
                fs.put(str(local), self._access.datastore_uri(parent), overwrite=OVERWRITE)

    def _exists(self) -> bool:
        location, _ = self._readable()
        return bool(self._access.filesystem(location).exists(self._access.datastore_uri(location)))

    def _release(self) -> None:
        super()._release()
        self._release_downloads()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "dataset": self._dataset_type.__name__}

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for ParallelRunner: a worker downloads into its own folder."""
        return {**self.__dict__, "_downloads": None}

    def _readable(self) -> tuple[DatastorePath, bool]:
        """The datastore path to read, and whether it is a folder (a data asset is resolved first)."""
        location = self._location
        if isinstance(location, DatastorePath):
            return location, location.is_folder
        asset = self._data_asset(location)
        try:
            resolved = parse_location(str(asset.path))
        except ValueError:
            resolved = None
        if not isinstance(resolved, DatastorePath):
            raise PluginError(
                f"{self._path}: the data asset points to {asset.path}; only assets kept in a datastore "
                "(azureml://…) are read"
            )
        return resolved, asset.type != "uri_file" or resolved.is_folder

    def _data_asset(self, location: DataAsset) -> Any:
        """azure-ai-ml's ``data.get``: a version, or the version a label (``latest``) stands for."""
        from azure.ai.ml.exceptions import MlException

        workspace = self._access.target(location)
        with workspace.errors(f"reading the data asset {self._path}"):
            try:
                return workspace.ml_client.data.get(location.name, version=location.version, label=location.label)
            except MlException as exc:  # the SDK's own checks (an unknown name behind a label)
                raise PluginError(f"{self._path}: {first_line(exc)} ({workspace.ref.describe()})") from None

    def _wrapped(self, local: Path) -> AbstractDataset[Any, Any]:
        return self._dataset_type(**{**self._dataset_config, self._filepath_arg: local.as_posix()})

    def _release_downloads(self) -> None:
        if self._downloads is not None:
            self._downloads.cleanup()
            self._downloads = None


def _name(location: DatastorePath) -> str:
    return PurePosixPath(location.path).name


def _parent(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else f"{parent}/"
