"""Node code's MLflow while the plugin's run cannot be opened: its calls go into the plugin's run's journal.

MLflow plugins (``mlflow.tracking_store`` and ``mlflow.artifact_repository`` entry points for
``node_code.JOURNAL_SCHEME``), so node code's own ``mlflow.log_metric``, ``log_params``, ``set_tag``,
``log_artifact``, ``log_figure``… reach the plugin's run as its own records do, instead of a run of their own
in another store: one ``kedro run`` is one run, even when its server is down from start to end. They are
sent (or journaled) by the agent with the plugin's records, and ``sync`` puts them into that run.

What a journal cannot hold is refused with one line saying so: reads of the store, other runs (a nested
``start_run``), MLflow 3's logged models. Node code's ``mlflow.end_run()`` ends nothing: the plugin ends the
run with its own status, as it does when the server is up.

MLflow builds these through ``journal_plugin`` (this module imports MLflow and the wire format); the plugin points
node code's MLflow here (``node_code``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from mlflow.entities import Metric, Param, Run, RunInfo, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_STATE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.tracking.abstract_store import AbstractStore

from kedro_azureml_mlflow.core.compat import run_from_info
from kedro_azureml_mlflow.tracking.pipeline_side.node_code import NodeCode, journaling
from kedro_azureml_mlflow.tracking.wire.batching import Batch


def _bridge() -> NodeCode:
    try:
        return journaling()
    except RuntimeError as exc:
        raise MlflowException(str(exc), INVALID_STATE) from None


def _refuse(what: str) -> NoReturn:
    raise MlflowException(
        f"MLflow's {what} cannot be journaled: the plugin's run could not be opened (its tracking server is "
        "down), so node code's metrics, params, tags and files are journaled into it for `kedro azureml sync`; "
        "other MLflow calls need the server",
        INVALID_STATE,
    )


class JournalStore(AbstractStore):
    """The tracking store of ``node_code.JOURNAL_URI``: values go to the plugin's run, nothing is read back."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # MLflow leaves it unannotated

    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        bridge = _bridge()
        self._known(bridge, run_id)
        batch = Batch(
            metrics=[(m.key, float(m.value), int(m.timestamp), int(m.step or 0)) for m in metrics],
            params=[(p.key, str(p.value)) for p in params],
            tags=[(t.key, str(t.value)) for t in tags],
        )
        if batch:
            bridge.journal(batch)

    def get_run(self, run_id: str) -> Run:
        bridge = _bridge()
        self._known(bridge, run_id)
        return run_from_info(bridge.journal_run_info())

    def update_run_info(self, run_id: str, run_status: Any, end_time: Any, run_name: Any) -> RunInfo:
        """Node code's ``end_run``: the plugin ends the run, with its own status (as when the server is up)."""
        return self.get_run(run_id).info

    def create_logged_model(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("create_logged_model (mlflow.<flavor>.log_model; save models through the catalog instead)")

    @staticmethod
    def _known(bridge: NodeCode, run_id: str) -> None:
        if run_id != bridge.journal_run_info()["run_id"]:
            raise MlflowException(
                f"run {run_id}: only the plugin's run is journaled while its tracking server is down",
                RESOURCE_DOES_NOT_EXIST,
            )


def _refusing(name: str) -> Callable[..., NoReturn]:
    def refused(self: JournalStore, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(name)

    refused.__name__ = name
    return refused


# Every other call MLflow's store interface marks abstract (whichever the installed MLflow declares) is refused:
# AbstractStore is no ABC, so one left out would quietly return None.
for _name in dir(AbstractStore):
    if getattr(getattr(AbstractStore, _name), "__isabstractmethod__", False) and _name not in vars(JournalStore):
        setattr(JournalStore, _name, _refusing(_name))


class JournalArtifactRepository(ArtifactRepository):
    """The artifact repository of the journaled run: each file is copied and handed over, nothing is listed."""

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        _bridge().journal_file(Path(local_file), artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        _bridge().journal_file(Path(local_dir), artifact_path)

    def list_artifacts(self, path: str | None = None) -> NoReturn:
        _refuse("list_artifacts")

    def _download_file(self, remote_file_path: str, local_path: str) -> NoReturn:
        _refuse("download_artifacts")
