"""``kedro azureml init``: write a commented ``azureml.yml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.cli.common import conf_source_of
from kedro_azureml_mlflow.settings.init_config import ignore_local_state, write_default_config
from kedro_azureml_mlflow.settings.project import check_env


@click.command(name="init")
@click.option("--env", "-e", default="base", show_default=True, help="Conf environment to write into (made if new).")
@click.option("--force", is_flag=True, help="Overwrite an existing azureml.yml.")
@click.pass_obj
def init(metadata: Any, env: str, force: bool) -> None:
    """Write a commented conf/<env>/azureml.yml, and keep the plugin's local files out of git."""
    project_path = Path(metadata.project_path)
    target = write_default_config(check_env(conf_source_of(metadata), env, may_create=True), force)
    click.secho(f"Wrote {target.relative_to(project_path)}", fg="green")
    added = ignore_local_state(project_path)
    if added:
        click.secho(f"Added {', '.join(added)} to .gitignore", fg="green")
