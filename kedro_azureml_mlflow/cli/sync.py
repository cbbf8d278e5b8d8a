"""``kedro azureml sync``: send what earlier runs journaled while the server was unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.errors import PluginError, first_line
from kedro_azureml_mlflow.tracking.journal import JOURNAL_DIRNAME, pending_journals


@click.command(name="sync")
@env_option
@click.pass_obj
def sync(metadata: Any, env: str | None) -> None:
    """Replay journaled tracking requests into their MLflow runs (each is sent once)."""
    from kedro_azureml_mlflow.tracking.replay import replay_journal
    from kedro_azureml_mlflow.tracking.target import connector_for

    project_path = Path(metadata.project_path)
    journals = pending_journals(project_path / JOURNAL_DIRNAME)
    if not journals:
        click.echo("Nothing to send: no journaled tracking requests.")
        return
    project, config = project_of(metadata, env)
    connect = connector_for(config, project)
    failed = 0
    for path in journals:
        try:
            run_id, sent = replay_journal(path, connect)
        except Exception as exc:  # noqa: BLE001 - report and keep going; the file keeps the rest
            failed += 1
            click.secho(f"{path.name}: not sent ({first_line(exc)}); kept for the next sync", fg="yellow")
            continue
        click.secho(f"{path.name}: sent {sent} requests to run {run_id}", fg="green")
    if failed:
        raise PluginError(f"{failed} of {len(journals)} journals could not be sent; run `kedro azureml sync` again")
