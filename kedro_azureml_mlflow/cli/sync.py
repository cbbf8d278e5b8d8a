"""``kedro azureml sync``: send what earlier runs journaled while the tracking server was unreachable.

Each journal is replayed into its run exactly once (``tracking.replay``). What can never be sent
is moved to ``journal/failed/`` with the reason, so one bad journal never blocks the others; the
command exits non-zero only when something stayed unsent, and says which.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.core.redaction import activate, scrub
from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.project import ProjectInfo
from kedro_azureml_mlflow.tracking.journal.journal import (
    ALREADY_SENT,
    FAILED_DIRNAME,
    JOURNAL_DIRNAME,
    pending_journals,
    remove_journal,
    requeue,
    taken,
)
from kedro_azureml_mlflow.tracking.wire.uri_credentials import PASSWORD_ENV

if TYPE_CHECKING:
    from kedro_azureml_mlflow.tracking.journal.replay import Connect


@click.command(name="sync")
@click.argument("journals", nargs=-1)
@click.option("--to", "to_uri", default=None, help="Send into a new run in this tracking URI instead.")
@click.option("--discard", multiple=True, help="Delete this journal (pending or in failed/) unsent.")
@click.option(
    "--job",
    default=None,
    help=(
        "Fetch the journals an Azure ML job (a pipeline job: each of its steps; a sweep job: each of its trials) "
        "left in its outputs, and send them."
    ),
)
@env_option
@click.pass_obj
def sync(
    metadata: Any,
    journals: tuple[str, ...],
    to_uri: str | None,
    discard: tuple[str, ...],
    job: str | None,
    env: str | None,
) -> None:
    """Replay journaled tracking requests into their MLflow runs, each exactly once.

    JOURNALS (file names or paths, also from journal/failed/) default to every pending journal.
    """
    directory = Path(metadata.project_path) / JOURNAL_DIRNAME
    if discard and (journals or to_uri or job):
        raise PluginError("--discard deletes journals unsent: give it without JOURNAL arguments, --to or --job")
    if job and journals:
        raise PluginError(f"--job {job} sends the journals that job left: give no JOURNAL arguments with it")
    if discard:
        for name in discard:
            _discard(_find(directory, name))
        return
    loaded = project_of(metadata, env) if job else None
    if job and loaded:
        paths = _fetched(job, *loaded, directory)
    else:
        paths = [_queued(_find(directory, name)) for name in journals] or pending_journals(directory)
    if not paths:
        click.echo("Nothing to send: no journaled tracking requests.")
        return
    from kedro_azureml_mlflow.tracking.plan.target import connector_for

    project, config = loaded or project_of(metadata, env)
    connect = connector_for(config, project)
    uris = [uri for uri in (to_uri, config.tracking.tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")) if uri]
    activate(config.tracking.redact, *uris).remember(os.environ.get(PASSWORD_ENV))  # nothing below prints them
    unsent = [path.name for path in paths if not _replay_one(path, connect, to_uri)]
    if unsent:
        raise PluginError(
            f"{len(unsent)} of {len(paths)} journals were not sent in full: {', '.join(unsent)} "
            "(see above; what can be retried stays pending for the next `kedro azureml sync`)"
        )


def _replay_one(path: Path, connect: Connect, to_uri: str | None) -> bool:
    """Replay one journal and say what became of it; ``True`` if all of it was delivered."""
    from kedro_azureml_mlflow.tracking.journal.replay import replay_journal

    with taken(path) as busy:
        if busy:
            _say(f"{path.name}: not sent: {busy}", "yellow")
            return busy == ALREADY_SENT
        outcome = replay_journal(path, connect, to_uri)
    if outcome.empty:
        _say(f"{path.name}: empty, removed", "green")
        return True
    if outcome.sent or not (outcome.set_aside or outcome.stopped):
        _say(f"{path.name}: sent {outcome.sent} records to run {outcome.run_id} in {outcome.target}", "green")
    for reason in outcome.set_aside:
        _say(f"{path.name}: set aside in {FAILED_DIRNAME}/{path.name}: {reason}", "red")
    if outcome.stopped:
        _say(f"{path.name}: stopped, the rest is kept for the next sync: {outcome.stopped}", "yellow")
    return not (outcome.set_aside or outcome.stopped)


def _fetched(job: str, project: ProjectInfo, config: PluginConfig, directory: Path) -> list[Path]:
    """The journals ``job`` left in its outputs, queued among the pending ones (each only once)."""
    from kedro_azureml_mlflow.azure_ml.client import project_workspace
    from kedro_azureml_mlflow.tracking.journal.job_journals import fetch_job_journals

    workspace = project_workspace(config, project.path, project.config_file)
    if workspace is None:
        raise PluginError(f"--job {job}: no Azure ML workspace is configured to fetch the job's outputs from")
    queued, before, sources = fetch_job_journals(workspace, job, directory)
    for name in before:
        click.echo(f"{name}: fetched from job {job} before; not sent again")
    if not (queued or before):
        click.echo(sources.nothing_left())
    return queued


def _find(directory: Path, name: str) -> Path:
    """A journal named by path, or by file name among the pending then the failed ones."""
    if Path(name).is_dir():
        raise PluginError(
            f"{name}: a folder, not a journal; give journal files (*.jsonl), or nothing to send every pending one"
        )
    for candidate in (Path(name), directory / name, directory / FAILED_DIRNAME / name):
        if candidate.is_file():
            return candidate
    raise PluginError(f"{name}: no such journal in {directory} or {directory / FAILED_DIRNAME}")


def _queued(path: Path) -> Path:
    """A journal from ``failed/`` goes back among the pending ones to be retried."""
    return requeue(path) if path.parent.name == FAILED_DIRNAME else path


def _discard(path: Path) -> None:
    with taken(path) as busy:
        if busy:
            raise PluginError(f"{path.name}: {busy}; not discarded")
        records = max(0, len(path.read_text(encoding="utf-8", errors="replace").splitlines()) - 1)
        remove_journal(path)
    click.echo(f"{path.name}: discarded ({records} records never sent)")


def _say(text: str, colour: str) -> None:
    """Print one line, with every credential the redactor knows masked."""
    click.secho(scrub(text), fg=colour)
