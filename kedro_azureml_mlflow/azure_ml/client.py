"""A workspace's clients, built lazily, with Azure's errors turned into one clear line; and the one place
that resolves a project's workspace and builds them (every caller goes through :func:`project_workspace`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_azureml_mlflow.azure_ml.credentials import HOW_TO_SIGN_IN, build_credential
from kedro_azureml_mlflow.azure_ml.workspace import WorkspaceRef, resolve_workspace
from kedro_azureml_mlflow.core.errors import PluginError, first_line
from kedro_azureml_mlflow.settings.config import CredentialsConfig, PluginConfig

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from azure.core.credentials import TokenCredential


class AzureWorkspace:
    """The workspace's control plane; the SDK is imported on first use, not at plugin load."""

    def __init__(self, ref: WorkspaceRef, credentials: CredentialsConfig) -> None:
        self.ref = ref
        self.credentials = credentials

    @cached_property
    def credential(self) -> TokenCredential:
        return build_credential(self.credentials)

    @cached_property
    def ml_client(self) -> MLClient:
        from azure.ai.ml import MLClient

        return MLClient(
            credential=self.credential,
            subscription_id=self.ref.subscription_id,
            resource_group_name=self.ref.resource_group,
            workspace_name=self.ref.name,
        )

    @cached_property
    def tracking_uri(self) -> str:
        """Asked of the workspace, never assembled by hand (private-link workspaces differ)."""
        with self.errors("asking the workspace for its MLflow tracking URI"):
            workspace = self.ml_client.workspaces.get(self.ref.name)
        uri = workspace.mlflow_tracking_uri
        if not uri:
            raise PluginError(f"{self.ref.describe()} has no MLflow tracking URI")
        return str(uri)

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Translate the SDK's exceptions raised while ``doing`` into a :class:`PluginError`."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        try:
            yield
        except ClientAuthenticationError as exc:
            hint = HOW_TO_SIGN_IN[self.credentials.type]
            raise PluginError(
                f"Could not sign in to Azure ({self.credentials.type.value} credential) while {doing}: "
                f"{first_line(exc)}. To sign in: {hint}."
            ) from None
        except ResourceNotFoundError as exc:
            raise PluginError(f"Not found while {doing} for {self.ref.describe()}: {first_line(exc)}") from None
        except ServiceRequestError as exc:
            raise PluginError(f"Could not reach Azure ML while {doing}: {first_line(exc)}") from None
        except HttpResponseError as exc:
            raise PluginError(f"Azure ML refused {doing} for {self.ref.describe()}: {first_line(exc)}") from None


def project_workspace(
    config: PluginConfig, project_path: Path, config_file: str = "azureml.yml"
) -> AzureWorkspace | None:
    """The project's workspace (first match wins, see ``workspace``), signed in as ``credentials:`` says;
    ``None`` when none is configured (local tracking)."""
    ref = resolve_workspace(config, project_path, config_file)
    return AzureWorkspace(ref, config.credentials) if ref is not None else None


def require_workspace(config: PluginConfig, project_path: Path, config_file: str) -> AzureWorkspace:
    """The project's workspace; an error naming where it can be configured when there is none."""
    workspace = project_workspace(config, project_path, config_file)
    if workspace is None:
        raise PluginError(
            f"No Azure ML workspace configured for {project_path}: set workspace: in {config_file}, "
            "put the workspace's config.json in the project, or set AZUREML_SUBSCRIPTION_ID, "
            "AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE_NAME"
        )
    return workspace
