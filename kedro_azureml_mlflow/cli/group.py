"""The ``kedro azureml`` click group that every command module attaches to."""

from __future__ import annotations

import click


@click.group(name="azureml-mlflow")
def commands() -> None:
    """Kedro plugin commands (entry point group ``kedro.project_commands``)."""


@commands.group(name="azureml")
def azureml() -> None:
    """Track with MLflow on Azure ML and run pipelines on Azure ML compute."""
