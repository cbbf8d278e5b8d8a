"""One ``MLClient`` per workspace, built lazily, with Azure's errors turned into one clear line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from kedro_azureml_mlflow.config import CredentialsConfig
from kedro_azureml_mlflow.credentials import HOW_TO_SIGN_IN, build_credential
from kedro_azureml_mlflow.errors import PluginError, first_line
from kedro_azureml_mlflow.workspace import WorkspaceRef


class AzureWorkspace:
    """The workspace's control plane; the SDK is imported on first use, not at plugin load."""

    def __init__(self, ref: WorkspaceRef, credentials: CredentialsConfig) -> None:
        self.ref = ref
        self.credentials = credentials

    @cached_property
    def credential(self) -> Any:
        return build_credential(self.credentials)

    @cached_property
    def ml_client(self) -> Any:
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
