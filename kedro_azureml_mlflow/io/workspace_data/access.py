"""How the plugin reaches a workspace's data: which workspace, signed in how, through which library.

The hooks hand over the project's workspace and ``credentials:`` (:func:`use_project`) before any
dataset of the catalog is created; a dataset used outside a Kedro session finds the workspace as
the plugin does (``config.json``, then the environment) and signs in with ``DefaultAzureCredential``.
Files move through azureml-fsspec (Azure ML's own library); data assets are resolved with
azure-ai-ml's ``data.get``. Both are imported on first use only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef, resolve_workspace
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.io.worker_handoff import DataAccessShare, received, share_data_access
from kedro_azureml_mlflow.io.workspace_data.locations import DataAsset, DatastorePath
from kedro_azureml_mlflow.settings.config import CredentialsConfig, PluginConfig
from kedro_azureml_mlflow.settings.project import ProjectInfo


def require_fsspec(what: str) -> None:
    """Fail with one line naming the extra when azureml-fsspec is not installed."""
    try:
        import azureml.fsspec  # noqa: F401  (only whether it is installed)
    except ImportError:
        raise PluginError(
            f"{what}: azureml: paths are read and written with azureml-fsspec, which is not installed: "
            "pip install 'kedro-azureml-mlflow[data]'"
        ) from None


@dataclass(frozen=True)
class WorkspaceAccess:
    """The project's workspace (None: none configured) and how to sign in; small and picklable, so
    a ParallelRunner worker gets it with the dataset and builds its own clients."""

    workspace: WorkspaceRef | None
    credentials: CredentialsConfig = field(default_factory=CredentialsConfig)

    def target(self, location: DatastorePath | DataAsset) -> AzureWorkspace:
        """The workspace that holds ``location``: the one a long-form URI names, else the project's."""
        ref = location.workspace if isinstance(location, DatastorePath) and location.workspace else self.workspace
        if ref is None:
            raise PluginError(
                f"{location}: which workspace? Set workspace: in azureml.yml, put a config.json in the project, "
                "set AZUREML_SUBSCRIPTION_ID/AZUREML_RESOURCE_GROUP/AZUREML_WORKSPACE_NAME, or write the path in "
                "full (azureml://subscriptions/…/resourcegroups/…/workspaces/…/datastores/…/paths/…)"
            )
        return _clients(ref, self.credentials).workspace

    def filesystem(self, location: DatastorePath) -> Any:
        """azureml-fsspec's filesystem on the datastore of ``location``, signed in with our credential."""
        return _clients(self.target(location).ref, self.credentials).filesystem(location.datastore)

    def datastore_uri(self, location: DatastorePath) -> str:
        return location.uri(self.target(location).ref)


@dataclass
class _Clients:
    """One workspace's clients in this process (never pickled: rebuilt where they are used)."""

    workspace: AzureWorkspace
    filesystems: dict[str, Any] = field(default_factory=dict)

    def filesystem(self, datastore: str) -> Any:
        if datastore not in self.filesystems:
            from azureml.fsspec import AzureMachineLearningFileSystem

            root = DatastorePath(datastore, "").uri(self.workspace.ref)
            # auth_dict "Custom": azureml-dataprep signs in with this credential instead of building its own
            # DefaultAzureCredential (inside a job it still prefers the job's own token, as Azure ML intends).
            self.filesystems[datastore] = AzureMachineLearningFileSystem(
                root, auth_dict={"authType": "Custom", "credential": self.workspace.credential}
            )
        return self.filesystems[datastore]


_CLIENTS: dict[tuple[WorkspaceRef, str], _Clients] = {}


def _clients(ref: WorkspaceRef, credentials: CredentialsConfig) -> _Clients:
    key = (ref, credentials.model_dump_json())
    if key not in _CLIENTS:
        _CLIENTS[key] = _Clients(AzureWorkspace(ref, credentials))
    return _CLIENTS[key]


def use_project(project: ProjectInfo, config: PluginConfig) -> None:
    """Called by the hooks: the workspace and credentials the project's datasets use from now on."""
    ref = resolve_workspace(config, project.path, project.config_file)
    share_data_access(DataAccessShare(ref, config.credentials))  # also for workers that start fresh (spawn)


def project_access() -> WorkspaceAccess:
    """The access the hooks handed over; outside a Kedro session, what the working folder says."""
    handed = received().data_access
    if handed is None:
        return WorkspaceAccess(resolve_workspace(PluginConfig(), Path.cwd()))
    return WorkspaceAccess(handed.workspace, handed.credentials)
