"""``kedro azureml runs``: the latest tracked runs, with their params, metrics and artifacts, in a table."""

from __future__ import annotations

from typing import Any

import click

from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.core.errors import PluginError


@click.command(name="runs")
@env_option
@click.option("--last", default=1, show_default=True, type=click.IntRange(min=1), help="How many runs to show.")
@click.pass_obj
def runs(metadata: Any, env: str | None, last: int) -> None:
    """Show the project's latest MLflow runs where they are tracked."""
    from rich.console import Console
    from rich.table import Table

    from kedro_azureml_mlflow.tracking.client.store_lock import sqlite_path
    from kedro_azureml_mlflow.tracking.plan.target import resolve_target

    project, config = project_of(metadata, env)
    target = resolve_target(config, project)
    database = sqlite_path(target.tracking_uri)
    if database is not None and not (project.path / database).exists():  # never create a store just to look
        raise PluginError(f"No runs yet: {database} does not exist; `kedro run` creates it with the first run")
    client = target.client()
    experiment = client.get_experiment_by_name(target.experiment_name or "Default")  # as runs are created
    if experiment is None:
        raise PluginError(f"No runs yet: experiment '{target.experiment_name}' does not exist in {target.description}")
    found = client.search_runs([experiment.experiment_id], max_results=last, order_by=["attributes.start_time DESC"])
    console = Console()
    console.print(f"Experiment '{target.experiment_name}' in {target.description}")
    for run in found:
        table = Table(title=f"run {run.info.run_id} · {run.info.run_name} · {run.info.status}", title_justify="left")
        table.add_column("kind")
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for key, value in sorted(run.data.params.items()):
            table.add_row("param", key, value)
        for key, value in sorted(run.data.metrics.items()):
            table.add_row("metric", key, f"{value:.6g}")
        for item in client.list_artifacts(run.info.run_id):  # the run's top level: figures, tables, model/
            table.add_row("artifact", f"{item.path}/" if item.is_dir else item.path, _size(item))
        console.print(table)


def _size(item: Any) -> str:
    """An artifact's size for the table ("folder" for a folder: a model, a dataset's files)."""
    if item.is_dir:
        return "folder"
    size = float(item.file_size or 0)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
