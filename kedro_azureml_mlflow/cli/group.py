"""The ``kedro azureml`` click group; its subcommands are imported only when used.

Kedro loads every plugin's commands for every ``kedro`` invocation, so ``kedro --help`` must not
pay for importing the plugin's command modules (pydantic models, packaging, the backend).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

SUBCOMMANDS = {
    "agent": "kedro_azureml_mlflow.cli.agent:agent",
    "cancel": "kedro_azureml_mlflow.cli.jobs:cancel",
    "download": "kedro_azureml_mlflow.cli.jobs:download",
    "init": "kedro_azureml_mlflow.cli.init:init",
    "logs": "kedro_azureml_mlflow.cli.jobs:logs",
    "runs": "kedro_azureml_mlflow.cli.runs:runs",
    "schedule": "kedro_azureml_mlflow.cli.schedule:schedule",
    "status": "kedro_azureml_mlflow.cli.jobs:status",
    "submit": "kedro_azureml_mlflow.cli.submit:submit",
    "sweep": "kedro_azureml_mlflow.cli.sweep:sweep",
    "sync": "kedro_azureml_mlflow.cli.sync:sync",
    "ui": "kedro_azureml_mlflow.cli.ui:ui",
}


class LazyGroup(click.Group):
    """A group whose subcommands are ``module:attribute`` paths, imported on first use."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy_subcommands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self._lazy[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


@click.group(name="azureml-mlflow")
def commands() -> None:
    """Kedro plugin commands (entry point group ``kedro.project_commands``)."""


@commands.group(name="azureml", cls=LazyGroup, lazy_subcommands=SUBCOMMANDS)
def azureml() -> None:
    """Track with MLflow on Azure ML and run pipelines on Azure ML compute."""
