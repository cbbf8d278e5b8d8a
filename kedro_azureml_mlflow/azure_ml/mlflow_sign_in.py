"""MLflow's ``azureml://`` store, signed in with the plugin's credential (used by every room that
builds an MLflow client: tracking, reading artifacts, node code, the backend)."""

from __future__ import annotations

from urllib.parse import urlparse

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace


def use_credential_for_tracking(tracking_uri: str, workspace: AzureWorkspace | None) -> None:
    """Make azureml-mlflow's ``azureml://`` store sign in with the plugin's credential.

    Left alone it builds its own chain ending in interactive browser / device-code sign-in,
    which hangs a headless run and ignores ``credentials:`` in azureml.yml.
    """
    if workspace is None or urlparse(tracking_uri).scheme != "azureml":
        return
    from kedro_azureml_mlflow.core.compat import register_tracking_credential

    ref = workspace.ref
    register_tracking_credential(
        tracking_uri,
        f"https://{urlparse(tracking_uri).netloc}",
        ref.subscription_id,
        ref.resource_group,
        ref.name,
        workspace.credential,
    )
