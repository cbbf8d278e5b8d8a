"""``kedro azureml status|logs|cancel JOB``: follow and control a submitted job.

Exit codes: 0 the job completed (or, for ``status``/``logs``, was shown); 1 it ended without completing
(``Failed``, ``Canceled``) or the command itself failed; 3 the command stopped following a job that has
not ended (``NotResponding``, ``Paused``, ``Unknown`` for too long, or the time limit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from kedro_azureml_mlflow.backend.job_states import EXIT_NOT_COMPLETED, EXIT_NOT_ENDED, WaitLimits
from kedro_azureml_mlflow.cli.common import env_option, project_of
from kedro_azureml_mlflow.core.errors import JobNotEnded, PluginError

if TYPE_CHECKING:
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun

LOG_TAIL_LINES = 30


@click.command(name="status")
@click.argument("job")
@env_option
@click.pass_obj
def status(metadata: Any, job: str, env: str | None) -> None:
    """Print a job's status (and why it failed)."""
    run = _submitted_run(metadata, job, env)
    state = run.job_status()
    click.echo(f"{job}: {state}")
    if state == "Failed":
        click.echo(f"Reason: {run.failure_reason() or 'not recorded; see kedro azureml logs ' + job}")
    from kedro_azureml_mlflow.pipeline_jobs.follow import step_table, steps_of

    steps = steps_of(run.workspace, job)
    if steps:
        click.echo("Steps:\n" + "\n".join(step_table(steps)))


@click.command(name="logs")
@click.argument("job")
@click.option("--step", default=None, help="A pipeline job's step (as status lists it): print that step's log.")
@click.option("--trial", type=click.IntRange(min=1), default=None, help="A sweep job's trial N: print its log.")
@env_option
@click.pass_obj
def logs(metadata: Any, job: str, step: str | None, trial: int | None, env: str | None) -> None:
    """Print a job's log (followed until the job ends, if it is still running)."""
    run = _submitted_run(metadata, job, env)
    if step is not None:
        from kedro_azureml_mlflow.pipeline_jobs.follow import step_job

        run = _submitted_run(metadata, step_job(run.workspace, job, step), env)
    if trial is not None:
        from kedro_azureml_mlflow.sweeps.azure_follow import trial_job

        run = _submitted_run(metadata, trial_job(run.workspace, job, trial), env)
    end = run.print_logs()
    if end.exit_code == EXIT_NOT_ENDED:
        raise JobNotEnded(end.not_ended())


@click.command(name="cancel")
@click.argument("job")
@env_option
@click.pass_obj
def cancel(metadata: Any, job: str, env: str | None) -> None:
    """Cancel a job and wait until Azure ML reports it ended."""
    from rich.console import Console

    run = _submitted_run(metadata, job, env)
    with Console(stderr=True).status(f"Cancelling {job}…"):
        end = run.cancel()
    click.echo(f"{job}: {end.status}")
    if end.exit_code == EXIT_NOT_ENDED:
        raise JobNotEnded(end.not_ended())
    if end.status == "Canceled":
        _show_cancelled_steps(run.workspace, job)


def _show_cancelled_steps(workspace: Any, job: str) -> None:
    """A cancelled pipeline job: its steps, and the MLflow status of its and their runs (a command job: nothing)."""
    from kedro_azureml_mlflow.pipeline_jobs.follow import step_table, steps_of
    from kedro_azureml_mlflow.pipeline_jobs.step_runs import run_statuses

    steps = steps_of(workspace, job)
    if not steps:
        return
    runs = run_statuses(workspace, [job, *(str(step.name) for step in steps)])
    click.echo(f"MLflow run {job}: {runs.get(job, 'not found')}")
    click.echo("Steps:\n" + "\n".join(step_table(steps, runs)))


def follow(run: Any, console: Any) -> None:
    """Show the job's progress (queued, running…, or its log) until it ends; fail unless it completed."""
    try:
        if run.stream:
            end = run.follow()
        else:
            with console.status("Waiting for the job…") as progress:
                end = run.follow(lambda state: progress.update(f"Job {run.job_name}: {state}…"))
    except KeyboardInterrupt:
        raise _stopped_following(run) from None
    if end.status == "Failed" and not run.stream:
        _print_log_tail(run, console)
    _end(run, end, console)


def follow_pipeline(run: Any, console: Any) -> None:
    """A pipeline job: a line as each step starts, changes status or ends; a failed step's log tail; fail
    unless the pipeline job completed."""
    from kedro_azureml_mlflow.pipeline_jobs.progress import StepWatch

    watch = StepWatch(run.workspace, run.job_name)

    def show_steps(state: str) -> None:
        for line in watch.changes():
            console.print(line, markup=False, highlight=False)

    try:
        with console.status("Waiting for the pipeline job…") as progress:
            end = run.follow(lambda state: progress.update(f"Pipeline job {run.job_name}: {state}…"), show_steps)
    except KeyboardInterrupt:
        raise _stopped_following(run) from None
    show_steps(end.status)  # the steps' last changes, once the pipeline has ended
    for step in watch.failed():
        _print_log_tail(_step_run(run, str(step.name)), console, f"step {step.display_name}'s ")
    _end(run, end, console)


def _step_run(run: Any, step: str) -> Any:
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun

    return AzureMLSubmittedRun(run.workspace, step, stream=False, limits=run.limits)


def _stopped_following(run: Any) -> PluginError:
    return PluginError(
        f"Stopped following job {run.job_name}; it keeps running (kedro azureml cancel {run.job_name} stops it)"
    )


def _end(run: Any, end: Any, console: Any) -> None:
    """Exit as the job ended: 3 if it has not, 1 unless it completed (with why), else say it completed."""
    if end.exit_code == EXIT_NOT_ENDED:
        raise JobNotEnded(end.not_ended())
    if end.exit_code == EXIT_NOT_COMPLETED:
        raise PluginError(run.ending(end))
    console.print(f"[green]{end.summary()}[/green]")


def _print_log_tail(run: Any, console: Any, whose: str = "", lines: int = LOG_TAIL_LINES) -> None:
    """The end of a failed job's log, where the error usually is (the log was not streamed)."""
    for name, text in run.logs().items():
        console.print(f"── last {lines} lines of {whose}{name}", markup=False, highlight=False)
        console.print("\n".join(text.rstrip().splitlines()[-lines:]), markup=False, highlight=False)


@click.command(name="download")
@click.argument("job")
@env_option
@click.pass_obj
def download(metadata: Any, job: str, env: str | None) -> None:
    """Bring a finished pipeline job's kept data into the project's data folders (submit --split-by)."""
    from kedro_azureml_mlflow.azure_ml.client import require_workspace
    from kedro_azureml_mlflow.pipeline_jobs.download import download_outputs

    info, config = project_of(metadata, env)
    written = download_outputs(require_workspace(config, info.path, info.config_file), job, info.path)
    for path in written:
        click.echo(f"  {path.relative_to(info.path)}")
    click.echo(f"{len(written)} files from job {job} written into {info.path}")


def _submitted_run(metadata: Any, job: str, env: str | None) -> AzureMLSubmittedRun:
    from kedro_azureml_mlflow.azure_ml.client import require_workspace
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun

    info, config = project_of(metadata, env)
    limits = WaitLimits.from_minutes(config.submit.wait_timeout_minutes, config.submit.unknown_status_minutes)
    return AzureMLSubmittedRun(require_workspace(config, info.path, info.config_file), job, limits=limits)
