"""``kedro azureml schedule``: run the project's pipeline on Azure ML on a cron or a recurrence.

``create`` packages the project as ``submit`` does and schedules the command job ``submit`` would send,
as a one-step pipeline (see ``schedules/definition.py`` for why). Everything the user typed is checked
(cron, time zone, pipeline, params, compute, environment) before anything is uploaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace, require_workspace
from kedro_azureml_mlflow.cli.common import env_option, existing_env, project_of
from kedro_azureml_mlflow.cli.run_args import RUNTIME_PARAMS, check_no_secret_params, check_params, check_selection
from kedro_azureml_mlflow.core.errors import PluginError


@click.group(name="schedule")
def schedule() -> None:
    """Create, list, trigger, disable, enable and delete Azure ML schedules of the project's pipeline."""


def _workspace(metadata: Any, env: str | None) -> AzureWorkspace:
    info, config = project_of(metadata, env)
    return require_workspace(config, info.path, info.config_file)


@schedule.command(name="create")
@click.argument("name")
@click.option("--cron", default=None, help='Five-field cron expression, e.g. "0 2 * * *" (every day at 02:00).')
@click.option("--every", default=None, help='A recurrence instead of --cron, e.g. "1 day", "6 hours", "1 week".')
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    help='Azure ML time-zone name (e.g. "Pacific Standard Time"); IANA names with a clear equivalent are translated.',
)
@click.option("--compute", help="Azure ML compute to run on [default: submit.compute in azureml.yml].")
@click.option("--pipeline", "-p", default="__default__", show_default=True, help="Registered pipeline to run.")
@click.option("--env", "-e", default=None, callback=existing_env, help="Kedro environment for the run.")
@click.option("--params", default="", callback=check_params, help="Runtime parameters: key=value,a.b=1.")
@click.option("--tags", "-t", default="", help="Run only nodes with these tags (comma-separated).")
@click.option("--nodes", "-n", default="", help="Run only these nodes (comma-separated).")
@click.option("--experiment", default=None, help="Experiment name [default: as for submit].")
@click.option("--environment", default=None, help="Registered environment azureml:<name>:<version>.")
@click.option("--display-name", default=None, help="Display name of the jobs the schedule creates.")
@click.option("--description", default=None, help="The schedule's description.")
@click.option("--include-data/--exclude-data", default=None, help="Upload data/ with the code.")
@click.option("--use-conda/--no-use-conda", default=None, help="Describe the environment as conda.yaml.")
@click.option("--strict", is_flag=True, help="Fail when an input of the pipeline is not in the snapshot.")
@click.pass_obj
def create(metadata: Any, /, name: str, **cli: Any) -> None:
    """Schedule the pipeline as NAME: each firing runs it as `submit` would (a one-step pipeline job)."""
    from kedro.framework.project import pipelines
    from rich.console import Console

    from kedro_azureml_mlflow.backend.submission import prepare_job
    from kedro_azureml_mlflow.bundle import package_project
    from kedro_azureml_mlflow.bundle.build import staging_folder
    from kedro_azureml_mlflow.bundle.mlproject import ENTRY_POINT
    from kedro_azureml_mlflow.cli.input_check import check_inputs, confirm_missing_inputs, run_catalog
    from kedro_azureml_mlflow.cli.submit import check_pipeline, job_options, package_request
    from kedro_azureml_mlflow.schedules.definition import job_schedule
    from kedro_azureml_mlflow.schedules.operations import create as create_schedule

    console = Console(stderr=True)
    when = _when(cli["cron"], cli["every"], cli["time_zone"])
    project_path = Path(metadata.project_path)
    info, config = project_of(metadata, cli["env"])
    check_pipeline(cli["pipeline"])
    check_selection(pipelines[cli["pipeline"]], cli["pipeline"], cli["nodes"], cli["tags"])
    check_no_secret_params(cli["params"], config.tracking.redact)
    catalog = run_catalog(project_path, info.env, click.get_current_context().meta.get(RUNTIME_PARAMS) or {})
    request = package_request(metadata, info.env, config.submit, cli, catalog)
    experiment = cli["experiment"] or config.submit.experiment or config.tracking.experiment or metadata.package_name
    options = job_options(config.submit, {**cli, "stream": None}, request.use_conda)
    if options.compute is None:
        raise PluginError(f"No compute to run on: pass --compute or set submit.compute in {info.config_file}")
    workspace = require_workspace(config, info.path, info.config_file)
    with staging_folder(project_path) as staging:
        with console.status("Packaging the project as an MLflow Project…"):
            package = package_project(request, staging / metadata.package_name, list_only=False)
        missing = check_inputs(project_path, request.run, catalog, package.files, request.exclude_data, console)
        confirm_missing_inputs(missing, cli["strict"])
        with console.status(f"Checking compute '{options.compute}' and the environment in {workspace.ref.name}…"):
            job = prepare_job(workspace, package.staging, ENTRY_POINT, request.run.as_parameters(), options, experiment)
        with console.status(f"Uploading the snapshot and creating schedule '{name}'…"):
            created = create_schedule(workspace, job_schedule(name, when, job, cli["description"]))
    console.print(
        f"Schedule '{created.name}' created ({when.describe()}): each firing runs pipeline '{cli['pipeline']}' "
        f"on '{options.compute}' as a pipeline job with one step. Run it now: kedro azureml schedule trigger {name}"
    )


def _when(cron: str | None, every: str | None, time_zone: str) -> Any:
    """The checked trigger: exactly one of ``--cron`` / ``--every``, and an Azure ML time zone."""
    from kedro_azureml_mlflow.schedules.cron import check_cron, parse_every
    from kedro_azureml_mlflow.schedules.definition import When
    from kedro_azureml_mlflow.schedules.time_zones import azure_time_zone

    if (cron is None) == (every is None):
        raise PluginError('Give exactly one of --cron "0 2 * * *" or --every "1 day"')
    zone = azure_time_zone(time_zone)
    if cron is not None:
        return When(time_zone=zone, cron=check_cron(cron))
    return When(time_zone=zone, every=parse_every(str(every)))


@schedule.command(name="list")
@click.option(
    "--view",
    type=click.Choice(["enabled", "disabled", "all"]),
    default="all",
    show_default=True,
    help="Which schedules to list.",
)
@env_option
@click.pass_obj
def list_command(metadata: Any, /, view: str, env: str | None) -> None:
    """List the workspace's schedules."""
    from kedro_azureml_mlflow.schedules.operations import list_schedules, summary

    found = [summary(s) for s in list_schedules(_workspace(metadata, env), view)]
    if not found:
        click.echo(f"No {'' if view == 'all' else view + ' '}schedules in the workspace.")
    for item in found:
        state = "enabled" if item.enabled else "disabled"
        click.echo(f"{item.name}\t{state}\t{item.trigger}")


@schedule.command(name="show")
@click.argument("name")
@env_option
@click.pass_obj
def show(metadata: Any, /, name: str, env: str | None) -> None:
    """Show one schedule: state, trigger and the job it creates."""
    from kedro_azureml_mlflow.schedules.operations import get, summary

    item = summary(get(_workspace(metadata, env), name))
    click.echo(f"name: {item.name}")
    click.echo(f"state: {'enabled' if item.enabled else 'disabled'} (provisioning {item.provisioning_state})")
    click.echo(f"trigger: {item.trigger}")
    click.echo(f"job: {item.job_name or '(no display name)'} in experiment {item.experiment or '(default)'}")


@schedule.command(name="trigger")
@click.argument("name")
@env_option
@click.pass_obj
def trigger(metadata: Any, /, name: str, env: str | None) -> None:
    """Run the schedule's job now; prints the job's name."""
    from kedro_azureml_mlflow.schedules.operations import trigger as trigger_now

    job = trigger_now(_workspace(metadata, env), name)
    click.echo(f"Schedule '{name}' triggered: job {job}", err=True)
    click.echo(job)


@schedule.command(name="disable")
@click.argument("name")
@env_option
@click.pass_obj
def disable(metadata: Any, /, name: str, env: str | None) -> None:
    """Stop the schedule from firing (it is kept)."""
    from kedro_azureml_mlflow.schedules.operations import set_enabled

    set_enabled(_workspace(metadata, env), name, False)
    click.echo(f"Schedule '{name}' disabled")


@schedule.command(name="enable")
@click.argument("name")
@env_option
@click.pass_obj
def enable(metadata: Any, /, name: str, env: str | None) -> None:
    """Let a disabled schedule fire again."""
    from kedro_azureml_mlflow.schedules.operations import set_enabled

    set_enabled(_workspace(metadata, env), name, True)
    click.echo(f"Schedule '{name}' enabled")


@schedule.command(name="delete")
@click.argument("name")
@env_option
@click.pass_obj
def delete(metadata: Any, /, name: str, env: str | None) -> None:
    """Delete the schedule (an enabled one is disabled first: Azure ML refuses to delete it)."""
    from kedro_azureml_mlflow.schedules.operations import delete as delete_schedule

    delete_schedule(_workspace(metadata, env), name, click.echo)
    click.echo(f"Schedule '{name}' deleted")
