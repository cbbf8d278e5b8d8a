"""The one place the plugin uses private (underscore) APIs of azure-ai-ml, azureml-mlflow, MLflow and Kedro.

Each function says why there is no public way. ``tests/unit/test_compat.py`` checks every one against the
installed versions; ``pyproject.toml`` bounds azure-ai-ml and azureml-mlflow to the versions checked, so
moving a bound means running that test against the new version first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient
    from mlflow.tracking.fluent import ActiveRun


def register_tracking_credential(
    tracking_uri: str, host_url: str, subscription_id: str, resource_group: str, workspace_name: str, auth: Any
) -> None:
    """Make azureml-mlflow's ``azureml://`` store for ``tracking_uri`` sign in with ``auth``.

    azureml-mlflow has no public hook for a credential; left alone it builds its own chain ending in
    interactive sign-in. Its service-context cache is the one place to hand it ours. MLflow keeps the store
    it built for a URI for the whole process, with the sign-in it was built with: when a credential is
    registered that is not the one already in use (a warm agent serving another project, a client made before),
    the stores are built afresh so that the next client signs in with it.
    """
    from azureml.mlflow._internal.service_context_loader import (
        _AzureMLServiceContextLoader,
    )
    from azureml.mlflow._internal.utils import ServiceContext
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    key = tracking_uri.split("?", maxsplit=1)[0]  # azureml-mlflow's own cache key
    if _registered.get(key) is auth:
        return
    context = ServiceContext(
        host_url=host_url,
        subscription_id=subscription_id,
        workspace_name=workspace_name,
        resource_group_name=resource_group,
        auth=auth,
    )
    _AzureMLServiceContextLoader.add_service_context(tracking_uri, context)
    TrackingStoreRegistry._get_store_with_resolved_uri.cache_clear()  # a store built before used another sign-in
    _registered[key] = auth


_registered: dict[str, Any] = {}  # tracking URI (azureml-mlflow's cache key) -> the credential registered for it


def run_history_details(ml_client: MLClient, job_name: str) -> Any:
    """Run history's view of a job: ``status``, ``error``, ``log_files`` (name -> service-signed URL).

    The only way to read a *running* job's log: ``jobs.download`` refuses jobs that have not ended, and
    ``jobs.stream`` reads the ``default`` output's datastore, signing each log blob with the datastore's
    SAS token as if it were an account key (azure-ai-ml 1.35), which storage refuses.
    """
    return ml_client.jobs._runs_operations.get_run_details(job_name)


def sdk_terminal_statuses() -> frozenset[str]:
    """The statuses after which azure-ai-ml stops following a job (``jobs.stream``, ``jobs.download``)."""
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

    return frozenset(str(status) for status in RunHistoryConstants.TERMINAL_STATUSES)


def sdk_job_statuses() -> frozenset[str]:
    """Every status the service's job API defines (the REST enum; the SDK exports no public one)."""
    from azure.ai.ml._restclient.arm_ml_service.models import JobStatus

    return frozenset(status.value for status in JobStatus)


def load_mlflow_project(directory: str) -> Any:
    """MLflow's own reading of an ``MLproject`` (entry points, environment spec), as ``mlflow run`` does.

    ``mlflow.projects`` exposes running projects, not reading them.
    """
    from mlflow.projects import _project_spec

    load: Any = _project_spec.load_project  # untyped in MLflow
    return load(directory)


def parse_kedro_params(ctx: click.Context, param: click.Parameter, value: str) -> dict[str, Any]:
    """``--params`` parsed exactly as ``kedro run`` does (raises ``click.UsageError`` when malformed).

    Kedro keeps its parser private; a copy would drift from the ``kedro run`` that reads the value in the job.
    """
    from kedro.framework.cli.utils import _split_params

    parsed: dict[str, Any] = _split_params(ctx, param, value)
    return parsed


_RUN_INFO_FIELDS = (
    "run_id",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "run_name",
)


@dataclass
class ActivatedRun:
    """What ``activate_run`` changed in MLflow's process-wide state, to undo it (``deactivate_run``)."""

    run: ActiveRun
    experiment_set: bool


def run_from_info(info: dict[str, Any]) -> Run:
    """An MLflow ``Run`` (no data) from a run's info as the agent passes it (``client_ops.info_of``)."""
    from mlflow.entities import Run, RunData, RunInfo

    return Run(RunInfo(**{name: info.get(name) for name in _RUN_INFO_FIELDS}), RunData())


def activate_run(info: dict[str, Any]) -> ActivatedRun:
    """Make the plugin's run the active MLflow run of every thread of this process, without a request.

    ``mlflow.start_run(run_id=…)`` would send two requests from the pipeline process, is
    thread-local (ThreadRunner's threads would open runs of their own), and makes MLflow end
    the run FINISHED at exit, over the plugin's status. ``MLFLOW_RUN_ID`` is consumed by the first
    ``start_run`` and cleared by the first ``end_run`` (autologging ends the runs it starts), so
    later calls open a second run. The fluent API keeps its active runs in
    ``mlflow.tracking.fluent._active_run_stack``: one stack per thread, made by ``default_factory``.

    The run's experiment becomes the active experiment too (``fluent._active_experiment_id``, what
    ``mlflow.set_experiment`` sets, without its request), unless node code chose one: MLflow puts a
    nested run (``start_run(nested=True)``) into the active experiment, not its parent's, so it went
    to ``Default``.
    """
    from mlflow.tracking import fluent

    run = fluent.ActiveRun(run_from_info(info))
    stacks = fluent._active_run_stack
    stacks.default_factory = lambda: [run]  # threads that have not used MLflow yet
    for stack in stacks.get_all_thread_values().values():
        if not stack:
            stack.append(run)  # threads that have, and have no run of their own
    experiment_set = fluent._active_experiment_id is None and info.get("experiment_id") is not None
    if experiment_set:
        fluent._active_experiment_id = str(info["experiment_id"])  # type: ignore[assignment]  # annotated None
    return ActivatedRun(run, experiment_set)


def deactivate_run(activated: ActivatedRun) -> None:
    """Take what ``activate_run`` put on every thread's stack off again (never ends the run: see above).

    Only that object: the same run may also be active as its owner's (kedro-mlflow's run, which the
    plugin joined), and its owner must still find it there to end it. The active experiment goes back
    to none if it is still the one ``activate_run`` set.
    """
    from mlflow.tracking import fluent

    stacks = fluent._active_run_stack
    stacks.default_factory = list
    for stack in stacks.get_all_thread_values().values():
        stack[:] = [run for run in stack if run is not activated.run]
    if activated.experiment_set and fluent._active_experiment_id == activated.run.info.experiment_id:
        fluent._active_experiment_id = None


def forget_sql_store(tracking_uri: str) -> None:
    """Drop what MLflow keeps for a SQL store URI: the store objects and their engines (open files).

    MLflow builds one store per URI for the whole process (``TrackingStoreRegistry``'s cache) on one
    engine per URI (``SqlAlchemyStore._engine_map``), with no public way to let go of either. A warm
    agent whose ``mlflow.db`` was deleted must stop writing to the deleted file and create a new one.
    Only the modules already imported are touched (nothing is imported to forget nothing).
    """
    import sys

    for module_name in ("mlflow.store.tracking.sqlalchemy_store", "mlflow.store.model_registry.sqlalchemy_store"):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        store_class = module.SqlAlchemyStore
        with store_class._engine_map_lock:
            engine = store_class._engine_map.pop(tracking_uri, None)
        if engine is not None:
            engine.dispose()
    for module_name, class_name in (
        ("mlflow.tracking._tracking_service.registry", "TrackingStoreRegistry"),
        ("mlflow.tracking._model_registry.registry", "ModelRegistryStoreRegistry"),
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, class_name)._get_store_with_resolved_uri.cache_clear()


def client_with_artifact_root(tracking_uri: str, artifact_root: str) -> MlflowClient:
    """An ``MlflowClient`` whose SQL store puts a new experiment's artifacts under ``artifact_root``.

    MLflow gives a SQL store the root ``./mlruns`` of the process's *current* folder, resolved once when the
    store is built and kept for the process, and ``MlflowClient`` has no parameter for another. The tracking
    agent serves many projects from one process and must not change folder (process-wide; its sessions run
    in threads). MLflow's store registry does take an artifact root (``_get_store``) and keeps one store per
    (URI, root); the client's tracking service asks for it with ``None``. So the store is built with the
    project's root first (a new database's ``Default`` experiment gets it too), and the client's tracking
    service is one that asks for that store. The database engine is still one per URI (MLflow's own map).
    """
    from mlflow.tracking import MlflowClient
    from mlflow.tracking._tracking_service import utils
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    class RootedTrackingService(TrackingServiceClient):
        def __init__(self, uri: str) -> None:
            self.artifact_root = artifact_root
            super().__init__(uri)  # type: ignore[no-untyped-call]  # untyped in MLflow

        @property
        def store(self) -> Any:
            return utils._get_store(self.tracking_uri, self.artifact_root)

    utils._get_store(tracking_uri, artifact_root)
    client = MlflowClient(tracking_uri=tracking_uri)
    client._tracking_client = RootedTrackingService(client.tracking_uri)
    return client


def create_empty_store(database: Path) -> None:
    """A new, empty SQLite tracking store at ``database``, made by MLflow itself (its migrations), then closed.

    Kept by the plugin as the template every new store is copied from (``tracking/client/store_template``).
    MLflow keeps the engine of every store it opened (``forget_sql_store``): let go of it, so that the file
    can be moved.
    """
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri = f"sqlite:///{database.as_posix()}"
    SqlAlchemyStore(uri, database.parent.as_uri())
    forget_sql_store(uri)


def set_default_experiment_location(database: Path, artifact_root: str | None) -> None:
    """Give a copied store's ``Default`` experiment the artifact location MLflow would have given it there.

    MLflow writes it once, when it creates the store (``SqlAlchemyStore._create_default_experiment``), from
    the store's artifact root: the one given, else ``_MLFLOW_SERVER_ARTIFACT_ROOT``, else ``./mlruns`` of
    the current folder. The table and column names are MLflow's own models'.
    """
    import contextlib
    import os
    import sqlite3
    import time

    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.dbmodels.models import SqlExperiment
    from mlflow.tracking._tracking_service.utils import _SERVER_ARTIFACT_ROOT_ENV_VAR
    from mlflow.utils.uri import append_to_uri_path, resolve_uri_if_local

    root = artifact_root or os.environ.get(_SERVER_ARTIFACT_ROOT_ENV_VAR, DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)
    location = str(append_to_uri_path(resolve_uri_if_local(root), "0"))
    now = int(time.time() * 1000)
    table = SqlExperiment.__tablename__
    columns = SqlExperiment.__table__.c
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            f"UPDATE {table} SET {columns.artifact_location.name} = ?, {columns.creation_time.name} = ?, "
            f"{columns.last_update_time.name} = ? WHERE {columns.experiment_id.name} = 0",
            (location, now, now),
        )
