"""The plugin config of the project a job is submitted from: its ``azureml.yml`` for a Kedro project,
defaults for any other MLflow project."""

from __future__ import annotations

from pathlib import Path

from kedro_azureml_mlflow.bundle.pyproject import kedro_package_name
from kedro_azureml_mlflow.settings.config import PluginConfig


def project_config(project_dir: Path, env: str | None = None) -> tuple[PluginConfig, str]:
    """The plugin config of a Kedro project (defaults for any other project) and its file's name."""
    package = kedro_package_name(project_dir)
    if package is None:
        return PluginConfig(), "azureml.yml"
    from kedro_azureml_mlflow.settings.project import load_project

    info, config = load_project(project_dir, package, env)
    return config, info.config_file
