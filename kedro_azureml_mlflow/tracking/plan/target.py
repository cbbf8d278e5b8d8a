"""Where a ``kedro run`` is tracked, decided once per session.

In order: inside a submitted job or ``mlflow run`` (``MLFLOW_RUN_ID`` set) resume that run on
the injected tracking URI; an explicit ``tracking.tracking_uri``; the workspace's URI asked of
Azure ML; ``MLFLOW_TRACKING_URI``; the embedded SQLite store in the project.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace, project_workspace
from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking
from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef, resolve_workspace
from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.core.redaction import mask_uri
from kedro_azureml_mlflow.settings.checks import check_tracking_uri, is_database_uri
from kedro_azureml_mlflow.settings.config import CredentialsConfig, PluginConfig
from kedro_azureml_mlflow.settings.project import ProjectInfo
from kedro_azureml_mlflow.tracking.wire.uri_credentials import with_credentials

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@dataclass(frozen=True)
class TrackingTarget:
    """A tracking URI, the run to resume (if any), the experiment, and how to describe it."""

    tracking_uri: str
    experiment_name: str | None
    resume_run_id: str | None
    description: str
    workspace: AzureWorkspace | None = None
    artifact_root: str | None = None  # a SQL store's root for new experiments' artifacts (see TargetSpec)

    def client(self) -> MlflowClient:
        """An ``MlflowClient`` for this target (imports MLflow: call it off the critical path)."""
        return mlflow_client(self.tracking_uri, self.workspace, self.artifact_root)


@dataclass(frozen=True)
class TargetSpec:
    """Where to track, decided without any network call; JSON-able, so the agent can realise it.

    With a workspace, ``tracking_uri`` is ``None`` until the workspace is asked for it.
    """

    tracking_uri: str | None
    experiment_name: str | None
    resume_run_id: str | None
    description: str
    workspace: dict[str, str] | None = None
    credentials: dict[str, Any] | None = None
    # Where a SQL store puts a new experiment's artifacts; None: MLflow's ./mlruns of the current folder.
    artifact_root: str | None = None

    def in_project(self, project_path: Path) -> TargetSpec:
        """The spec as a process working in ``project_path`` would read it, for a process that works elsewhere.

        The agent serves many projects from one folder of its own (it must not change folder: that is
        process-wide, and its sessions run in threads). So a relative store path (``sqlite:///mlflow.db``,
        ``file:mlruns``) is made absolute against the project, and a SQL store gets the project's ``mlruns``
        as its artifact root, where MLflow would have put a new experiment's artifacts in that folder.
        """
        uri = self.tracking_uri and in_folder(self.tracking_uri, project_path)
        database = uri is not None and is_database_uri(uri)
        root = (project_path / "mlruns").as_uri() if database and self.artifact_root is None else self.artifact_root
        return replace(self, tracking_uri=uri, artifact_root=root)

    def azure_workspace(self) -> AzureWorkspace | None:
        if self.workspace is None:
            return None
        return AzureWorkspace(WorkspaceRef(**self.workspace), CredentialsConfig.model_validate(self.credentials or {}))

    def realise(self, workspace: AzureWorkspace | None = None) -> TrackingTarget:
        """The target, asking the workspace for its tracking URI if needed (``workspace``: a cached one)."""
        workspace = workspace or self.azure_workspace()
        uri = self.tracking_uri or (workspace.tracking_uri if workspace else None)
        if uri is None:
            raise ValueError("a target without a tracking URI needs a workspace")
        return TrackingTarget(
            uri, self.experiment_name, self.resume_run_id, self.description, workspace, self.artifact_root
        )


def in_folder(tracking_uri: str, folder: Path) -> str:
    """``tracking_uri`` with a relative SQLite or ``file:`` path made absolute against ``folder``."""
    parts = urlsplit(tracking_uri)
    scheme = parts.scheme.lower()
    if scheme.split("+", 1)[0] == "sqlite" and not parts.netloc:
        database = parts.path[1:]  # as SQLAlchemy reads it: sqlite:///relative.db, sqlite:////absolute.db
        if not database or database.startswith("/") or database == ":memory:" or Path(database).is_absolute():
            return tracking_uri
        query = f"?{parts.query}" if parts.query else ""
        return f"{parts.scheme}:///{(folder / database).as_posix()}{query}"
    if scheme == "file" and not parts.netloc and not Path(parts.path).is_absolute() and not parts.path.startswith("/"):
        return (folder / parts.path).as_uri()
    return tracking_uri


def local_store_uri(project: ProjectInfo) -> str:
    return f"sqlite:///{(project.path / 'mlflow.db').as_posix()}"


def plan_target(config: PluginConfig, project: ProjectInfo) -> TargetSpec:
    """Decide where to track (first match wins); never touches the network."""
    experiment = config.tracking.experiment or project.package_name
    injected_run = os.environ.get("MLFLOW_RUN_ID")
    injected_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if injected_uri:
        check_injected_uri(injected_uri)
    if injected_run and injected_uri:
        return TargetSpec(injected_uri, None, injected_run, f"the run {injected_run} this job was started with")
    if config.tracking.tracking_uri:
        return TargetSpec(config.tracking.tracking_uri, experiment, None, mask_uri(config.tracking.tracking_uri))
    ref = resolve_workspace(config, project.path, project.config_file)
    if ref is not None:
        credentials = config.credentials.model_dump(mode="json")
        return TargetSpec(None, experiment, None, f"Azure ML {ref.describe()}", asdict(ref), credentials)
    if injected_uri:
        return TargetSpec(injected_uri, experiment, None, mask_uri(injected_uri))
    uri = local_store_uri(project)
    return TargetSpec(uri, experiment, None, f"the embedded local store {uri}")


def resolve_target(config: PluginConfig, project: ProjectInfo) -> TrackingTarget:
    """Decide where to track; asks the workspace (one request) only when one is configured."""
    return plan_target(config, project).realise()


def check_injected_uri(uri: str) -> None:
    """``MLFLOW_TRACKING_URI`` gets the same up-front check as ``tracking.tracking_uri``."""
    try:
        check_tracking_uri(uri)
    except ValueError as exc:
        raise ConfigError(f"MLFLOW_TRACKING_URI (environment variable): {exc} (got {mask_uri(uri)[:80]!r})") from None


def mlflow_client(
    tracking_uri: str, workspace: AzureWorkspace | None = None, artifact_root: str | None = None
) -> MlflowClient:
    """An ``MlflowClient`` for ``tracking_uri``, signed in as ``workspace`` for ``azureml://`` URIs."""
    from kedro_azureml_mlflow.tracking.client.client_ops import make_client

    use_credential_for_tracking(tracking_uri, workspace)
    return make_client(tracking_uri, artifact_root)


def connector_for(config: PluginConfig, project: ProjectInfo) -> Callable[[str], MlflowClient]:
    """For replaying journals: a client for any recorded URI, signed in as the project is.

    Journals keep tracking URIs without their password; the project's own tracking URI (when it
    names the same server) or ``MLFLOW_TRACKING_PASSWORD`` supplies it again.
    """
    workspace = project_workspace(config, project.path, project.config_file)
    known = [uri for uri in (config.tracking.tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")) if uri]

    def connect(recorded_uri: str) -> MlflowClient:
        return mlflow_client(with_credentials(recorded_uri, known), workspace)

    return connect
