"""What several ``kedro azureml`` commands share: the checked ``--env`` option and reading the project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.project import ProjectInfo, check_env, load_project


def conf_source_of(metadata: Any) -> Path:
    """The project's conf folder (``settings.CONF_SOURCE``, relative to the project or absolute)."""
    from kedro.framework.project import settings

    return Path(metadata.project_path, settings.CONF_SOURCE)


def existing_env(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--env`` must name an existing conf environment (a typo gets "did you mean")."""
    if value is not None:
        check_env(conf_source_of(ctx.obj), value)
    return value


env_option = click.option(
    "--env", "-e", default=None, callback=existing_env, help="Kedro conf environment whose azureml.yml to read."
)


def project_of(metadata: Any, env: str | None) -> tuple[ProjectInfo, PluginConfig]:
    """The project Kedro handed the command (its ``ProjectMetadata``) and its ``azureml.yml``."""
    return load_project(Path(metadata.project_path), metadata.package_name, env)
