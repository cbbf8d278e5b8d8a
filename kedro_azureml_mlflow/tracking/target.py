"""Where a ``kedro run`` is tracked, decided once per session.

In order: inside a submitted job or ``mlflow run`` (``MLFLOW_RUN_ID`` set) resume that run on
the injected tracking URI; an explicit ``tracking.tracking_uri``; the workspace's URI asked of
Azure ML; ``MLFLOW_TRACKING_URI``; the embedded SQLite store in the project.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from kedro_azureml_mlflow.azure_client import AzureWorkspace
from kedro_azureml_mlflow.checks import check_tracking_uri
from kedro_azureml_mlflow.config import CredentialsConfig, PluginConfig
from kedro_azureml_mlflow.errors import ConfigError
from kedro_azureml_mlflow.project import ProjectInfo
from kedro_azureml_mlflow.redaction import mask_uri
from kedro_azureml_mlflow.tracking.uri_credentials import with_credentials
from kedro_azureml_mlflow.workspace import WorkspaceRef, resolve_workspace


@dataclass(frozen=True)
class TrackingTarget:
    """A tracking URI, the run to resume (if any), the experiment, and how to describe it."""

    tracking_uri: str
    experiment_name: str | None
    resume_run_id: str | None
    description: str
    workspace: AzureWorkspace | None = None

    def client(self) -> Any:
        """An ``MlflowClient`` for this target (imports MLflow: call it off the critical path)."""
        return mlflow_client(self.tracking_uri, self.workspace)


def local_store_uri(project: ProjectInfo) -> str:
    return f"sqlite:///{(project.path / 'mlflow.db').as_posix()}"


def resolve_target(config: PluginConfig, project: ProjectInfo) -> TrackingTarget:
    """Decide where to track; asks the workspace (one request) only when one is configured."""
    experiment = config.tracking.experiment or project.package_name
    injected_run = os.environ.get("MLFLOW_RUN_ID")
    injected_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if injected_uri:
        check_injected_uri(injected_uri)
    if injected_run and injected_uri:
        return TrackingTarget(injected_uri, None, injected_run, f"the run {injected_run} this job was started with")
    if config.tracking.tracking_uri:
        return TrackingTarget(config.tracking.tracking_uri, experiment, None, mask_uri(config.tracking.tracking_uri))
    ref = resolve_workspace(config, project.path, project.config_file)
    if ref is not None:
        workspace = AzureWorkspace(ref, config.credentials)
        return TrackingTarget(workspace.tracking_uri, experiment, None, f"Azure ML {ref.describe()}", workspace)
    if injected_uri:
        return TrackingTarget(injected_uri, experiment, None, mask_uri(injected_uri))
    uri = local_store_uri(project)
    return TrackingTarget(uri, experiment, None, f"the embedded local store {uri}")


def check_injected_uri(uri: str) -> None:
    """``MLFLOW_TRACKING_URI`` gets the same up-front check as ``tracking.tracking_uri``."""
    try:
        check_tracking_uri(uri)
    except ValueError as exc:
        raise ConfigError(f"MLFLOW_TRACKING_URI (environment variable): {exc} (got {mask_uri(uri)[:80]!r})") from None


def mlflow_client(tracking_uri: str, workspace: AzureWorkspace | None = None) -> Any:
    """An ``MlflowClient`` for ``tracking_uri``, signed in as ``workspace`` for ``azureml://`` URIs."""
    from kedro_azureml_mlflow.tracking.client_ops import make_client

    use_credential_for_tracking(tracking_uri, workspace)
    return make_client(tracking_uri)


def connector_for(config: PluginConfig, project: ProjectInfo) -> Callable[[str], Any]:
    """For replaying journals: a client for any recorded URI, signed in as the project is.

    Journals keep tracking URIs without their password; the project's own tracking URI (when it
    names the same server) or ``MLFLOW_TRACKING_PASSWORD`` supplies it again.
    """
    ref = resolve_workspace(config, project.path, project.config_file)
    workspace = AzureWorkspace(ref, config.credentials) if ref is not None else None
    known = [uri for uri in (config.tracking.tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")) if uri]

    def connect(recorded_uri: str) -> Any:
        return mlflow_client(with_credentials(recorded_uri, known), workspace)

    return connect


def worker_client(shared: dict[str, Any]) -> Any:
    """A client in a ParallelRunner worker, from what the parent shared (no workspace lookup)."""
    workspace = None
    if shared.get("workspace"):
        ref = WorkspaceRef(**shared["workspace"])
        workspace = AzureWorkspace(ref, CredentialsConfig.model_validate(shared["credentials"]))
    return mlflow_client(shared["tracking_uri"], workspace)


def use_credential_for_tracking(tracking_uri: str, workspace: AzureWorkspace | None) -> None:
    """Make azureml-mlflow's ``azureml://`` store sign in with the plugin's credential.

    Left alone it builds its own chain ending in interactive browser / device-code sign-in,
    which hangs a headless run and ignores ``credentials:`` in azureml.yml.
    """
    if workspace is None or urlparse(tracking_uri).scheme != "azureml":
        return
    from kedro_azureml_mlflow.compat import register_tracking_credential

    ref = workspace.ref
    register_tracking_credential(
        tracking_uri,
        f"https://{urlparse(tracking_uri).netloc}",
        ref.subscription_id,
        ref.resource_group,
        ref.name,
        workspace.credential,
    )
