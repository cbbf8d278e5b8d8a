"""The workspace a project submits to: from its ``azureml.yml`` for a Kedro project, else from
``config.json`` or environment variables (any MLflow project)."""

from __future__ import annotations

from pathlib import Path

from kedro_azureml_mlflow.azure_client import AzureWorkspace
from kedro_azureml_mlflow.config import PluginConfig
from kedro_azureml_mlflow.errors import PluginError
from kedro_azureml_mlflow.packaging.pyproject import kedro_package_name
from kedro_azureml_mlflow.workspace import resolve_workspace


def project_config(project_dir: Path, env: str | None = None) -> tuple[PluginConfig, str]:
    """The plugin config of a Kedro project (defaults for any other project) and its file's name."""
    package = kedro_package_name(project_dir)
    if package is None:
        return PluginConfig(), "azureml.yml"
    from kedro_azureml_mlflow.project import load_project

    info, config = load_project(project_dir, package, env)
    return config, info.config_file


def workspace_for(config: PluginConfig, project_dir: Path, config_file: str) -> AzureWorkspace:
    """The project's workspace; an error naming where it can be configured when there is none."""
    ref = resolve_workspace(config, project_dir, config_file)
    if ref is None:
        raise PluginError(
            f"No Azure ML workspace configured for {project_dir}: set workspace: in {config_file}, "
            "put the workspace's config.json in the project, or set AZUREML_SUBSCRIPTION_ID, "
            "AZUREML_RESOURCE_GROUP and AZUREML_WORKSPACE_NAME"
        )
    return AzureWorkspace(ref, config.credentials)
