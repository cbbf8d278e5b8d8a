"""``kedro azureml init``: write a commented ``azureml.yml``."""

from __future__ import annotations

from pathlib import Path

import click

from kedro_azureml_mlflow.init_config import write_default_config


@click.command(name="init")
@click.option("--env", "-e", default="base", show_default=True, help="Conf environment to write into.")
@click.option("--force", is_flag=True, help="Overwrite an existing azureml.yml.")
@click.pass_obj
def init(metadata: object, env: str, force: bool) -> None:
    """Write a commented conf/<env>/azureml.yml."""
    from kedro.framework.project import settings

    project_path = Path(metadata.project_path)
    target = write_default_config(project_path / settings.CONF_SOURCE / env, force)
    click.secho(f"Wrote {target.relative_to(project_path)}", fg="green")
