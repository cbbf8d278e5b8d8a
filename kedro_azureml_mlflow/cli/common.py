"""What several ``kedro azureml`` commands share: the ``--env`` option and reading the project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.config import PluginConfig
from kedro_azureml_mlflow.project import ProjectInfo, load_project

env_option = click.option("--env", "-e", default=None, help="Kedro conf environment whose azureml.yml to read.")


def project_of(metadata: Any, env: str | None) -> tuple[ProjectInfo, PluginConfig]:
    """The project Kedro handed the command (its ``ProjectMetadata``) and its ``azureml.yml``."""
    return load_project(Path(metadata.project_path), metadata.package_name, env)
