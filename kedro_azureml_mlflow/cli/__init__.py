"""``kedro azureml …``: the plugin's project commands.

Each command lives in a module of its own; this one only assembles the group. Commands import
``mlflow`` and ``azure.*`` inside their bodies so ``kedro --help`` stays fast.
"""

from __future__ import annotations

import click


@click.group(name="azureml-mlflow")
def commands() -> None:
    """Kedro plugin commands (entry point group ``kedro.project_commands``)."""


@commands.group(name="azureml")
def azureml() -> None:
    """Track with MLflow on Azure ML and run pipelines on Azure ML compute."""
