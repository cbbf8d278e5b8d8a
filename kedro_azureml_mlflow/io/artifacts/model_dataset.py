"""``MlflowModelDataset``: a model saved as an MLflow model into the run, optionally registered.

It takes the path Azure ML serves: ``mlflow.<flavor>.save_model`` into a local folder, that folder
uploaded as run artifacts, then ``create_model_version`` from it. MLflow 3's ``log_model`` would
call the logged-models API, which Azure ML answers 404. The same path runs on every store, so
what works locally works on a workspace.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from kedro_azureml_mlflow.io.artifacts import handoff
from kedro_azureml_mlflow.io.catalog_lookup import declared_dataset
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord

_FLAVOR = re.compile(r"[a-z][a-z0-9_]*")
# Azure ML's model names: letters, digits, '-', '_' and '.', starting with a letter or digit.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_EXAMPLE_ROWS = 5


class MlflowModelDataset(AbstractDataset[Any, Any]):
    """Logs a model into the run (with a signature and input example when it can) and loads one back.

    ```yaml
    classifier:
      type: kedro_azureml_mlflow.datasets.MlflowModelDataset
      flavor: sklearn                  # any mlflow.<flavor> with save_model / load_model
      artifact_path: model             # the run folder: runs:/<run id>/model
      registered_model_name: iris-clf  # optional: a new version each run (tracking.models.register)
      input_example: X_train           # optional: an input of the node that makes the model
      model_uri: null                  # load runs:/<id>/<path>, models:/<name>/<version> or models:/<name>@<alias>
    ```

    ``save_args`` and ``load_args`` go to ``mlflow.<flavor>.save_model`` and ``load_model``;
    ``filepath`` also keeps the saved model folder in the project.
    """

    def __init__(
        self,
        flavor: str,
        artifact_path: str = "model",
        registered_model_name: str | None = None,
        input_example: str | None = None,
        model_uri: str | None = None,
        run_id: str | None = None,
        filepath: str | None = None,
        save_args: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not _FLAVOR.fullmatch(flavor):
            raise DatasetError(f"MlflowModelDataset: flavor must name an mlflow module like 'sklearn' (got {flavor!r})")
        if registered_model_name is not None and not _MODEL_NAME.fullmatch(registered_model_name):
            raise DatasetError(
                f"MlflowModelDataset: registered_model_name {registered_model_name!r} must be letters, digits, "
                "'-', '_' or '.', starting with a letter or digit (Azure ML's rule for model names)"
            )
        self.flavor = flavor
        self.artifact_path = artifact_path.strip("/") or "model"
        self.registered_model_name = registered_model_name
        self.input_example_from = input_example
        self._model_uri = model_uri or (f"runs:/{run_id}/{self.artifact_path}" if run_id else None)
        self._filepath = Path(filepath) if filepath else None
        self._save_args = dict(save_args or {})
        self._load_args = dict(load_args or {})
        self.metadata = metadata
        self._model: Any = None
        self._example: Any = None
        # Shared by the copies of this dataset that ParallelRunner's workers get (see _save).
        self._handover_file = Path(tempfile.gettempdir()) / f"kedro-azureml-mlflow-model-{uuid.uuid4().hex}.pkl"

    def take_input_example(self, data: Any) -> None:
        """Keep the first rows of the data the model is fitted on (handed over before its node runs)."""
        head = getattr(data, "head", None)
        self._example = head(_EXAMPLE_ROWS) if callable(head) else data[:_EXAMPLE_ROWS]

    def _save(self, model: Any) -> None:
        self._model = model  # downstream nodes get it from memory, whatever happens to the upload
        if multiprocessing.parent_process() is not None:
            self._hand_over_between_processes(model)
        target = handoff.current()
        if target is None:
            if self._filepath is not None:
                self._save_model(model, self._filepath)
            return
        target.defer(lambda: self._record(model, target), f"Model '{self.artifact_path}'")

    def _record(self, model: Any, target: handoff.Handoff) -> ArtifactRecord:
        """Save the MLflow model (in the background: it takes seconds) and say what to upload."""
        folder = self._filepath or target.staged_path(self.artifact_path.rsplit("/", 1)[-1])
        self._save_model(model, folder)
        register = self.registered_model_name if target.register_models else None
        return ArtifactRecord(str(folder.resolve()), self.artifact_path, self._filepath is None, register, "model")

    def _save_model(self, model: Any, folder: Path) -> None:
        # Here, not at the top: every `kedro` command imports this module with the hooks (2 ms for it alone).
        from kedro_azureml_mlflow.io.artifacts import model_requirements

        shutil.rmtree(folder, ignore_errors=True)  # save_model refuses an existing folder
        flavor = self._module()
        args = dict(self._save_args)
        if self._example is not None:
            args.setdefault("input_example", self._example)  # MLflow infers the signature from it

        def save_model(final: dict[str, Any]) -> None:
            if self.flavor == "pyfunc":
                flavor.save_model(str(folder), python_model=model, **final)
            else:
                flavor.save_model(model, str(folder), **final)

        model_requirements.save(self.flavor, model, folder, args, save_model)

    def _load(self) -> Any:
        if self._model_uri is not None:
            from kedro_azureml_mlflow.io.artifacts.reading import download

            # Kept, not deleted: some flavors read their files lazily, after load_model returns.
            local = download(self._model_uri, Path(tempfile.mkdtemp(prefix="kedro-azureml-mlflow-model-")))
            return self._module().load_model(str(local), **self._load_args)
        if self._model is not None:
            return self._model
        if self._handover_file.exists():
            with self._handover_file.open("rb") as handle:
                return pickle.load(handle)  # written by this dataset in this run, readable only by the user
        if self._filepath is not None and self._filepath.exists():
            return self._module().load_model(str(self._filepath), **self._load_args)
        raise DatasetError(
            "MlflowModelDataset has no model yet: no node has saved it in this run; set model_uri "
            "(runs:/<run id>/<path>, models:/<name>/<version> or models:/<name>@<alias>) to load a logged one"
        )

    def _module(self) -> Any:
        try:
            module = importlib.import_module(f"mlflow.{self.flavor}")
        except ImportError as exc:
            raise DatasetError(
                f"MlflowModelDataset: flavor '{self.flavor}': cannot import mlflow.{self.flavor} ({exc})"
            ) from None
        if not (hasattr(module, "save_model") and hasattr(module, "load_model")):
            raise DatasetError(f"MlflowModelDataset: mlflow.{self.flavor} has no save_model / load_model")
        return module

    def _hand_over_between_processes(self, model: Any) -> None:
        """In a ParallelRunner worker: the node that loads the model may run in another process."""
        partial = self._handover_file.with_suffix(".tmp")
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            pickle.dump(model, handle)
        os.replace(partial, self._handover_file)

    def _release(self) -> None:
        """Kedro is done with the model for this run: forget it (and its copy for other processes)."""
        self._model = None
        self._handover_file.unlink(missing_ok=True)

    def _exists(self) -> bool:
        return self._model is not None or self._model_uri is not None or self._handover_file.exists()

    def _describe(self) -> dict[str, Any]:
        return {
            "flavor": self.flavor,
            "artifact_path": self.artifact_path,
            "registered_model_name": self.registered_model_name,
            "model_uri": self._model_uri,
        }


def capture_input_examples(node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
    """Before a node runs: hand each model dataset it writes the input named as its example."""
    for name in node.outputs:
        dataset = declared_dataset(catalog, name)
        if isinstance(dataset, MlflowModelDataset) and dataset.input_example_from in inputs:
            dataset.take_input_example(inputs[dataset.input_example_from])
