"""``kedro azureml sweep`` on Azure ML: the project packaged and checked as ``submit`` does it, sent as one sweep
job whose trial is the command job ``submit`` would send, with the searched parameters as its inputs.

Everything before the upload is ``submit``'s own code (packaging, input check, job options, compute and
environment checks); only the job differs (``sweeps/azure_job.py``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError


def submit_sweep(
    metadata: Any, info: Any, config: Any, settings: Any, cli: dict[str, Any], fixed: dict[str, Any], console: Any
) -> None:
    """Package, check, create the sweep job; with ``--wait`` follow its trials and write the best back."""
    from kedro_azureml_mlflow.azure_ml.client import require_workspace
    from kedro_azureml_mlflow.bundle import package_project
    from kedro_azureml_mlflow.bundle.build import staging_folder
    from kedro_azureml_mlflow.bundle.report import human_size
    from kedro_azureml_mlflow.cli.input_check import check_inputs, confirm_missing_inputs, run_catalog
    from kedro_azureml_mlflow.cli.run_args import check_no_secret_params
    from kedro_azureml_mlflow.cli.submit import check_job_values, job_options, package_request
    from kedro_azureml_mlflow.sweeps.azure_job import input_names, trial_params

    job_cli = {**cli, "tags": "", "nodes": "", "stream": False}  # a trial runs the whole pipeline, not streamed
    check_no_secret_params(cli["params"], config.tracking.redact)
    check_job_values(job_cli)
    project_path = Path(metadata.project_path)
    catalog = run_catalog(project_path, info.env, fixed)
    request = package_request(metadata, info.env, config.submit, job_cli, catalog)
    experiment = cli["experiment"] or config.submit.experiment or config.tracking.experiment or metadata.package_name
    options = job_options(config.submit, job_cli, request.use_conda)
    names = input_names(settings.space)
    trial_run = dataclasses.replace(request.run, params=trial_params(request.run.params, names))
    workspace = None if cli["dry_run"] else require_workspace(config, info.path, info.config_file)
    with staging_folder(project_path) as staging:
        with console.status("Packaging the project as an MLflow Project…"):
            package = package_project(request, staging / metadata.package_name, list_only=cli["dry_run"])
        console.print(
            f"Packaged {len(package.files)} files ({human_size(package.total_bytes)}) as an MLflow Project "
            f"[dim]({package.plugin.requirement})[/dim]"
        )
        missing = check_inputs(project_path, request.run, catalog, package.files, request.exclude_data, console)
        if cli["dry_run"]:
            show_dry_run(package, trial_run, options, experiment, settings, names, cli["early_termination"])
            return
        confirm_missing_inputs(missing, cli["strict"])
        job = create_sweep_job(workspace, package.staging, trial_run, options, experiment, settings, names, cli)
        console.print(
            f"Azure ML job {job.name} submitted to '{options.compute}' as a sweep of {settings.max_trials} trials "
            f"({settings.requested_sampling} sampling, {settings.max_concurrent} at once): {job.studio_url}"
        )
    from kedro_azureml_mlflow.sweeps.azure_follow import SweepJobRef, log_definition
    from kedro_azureml_mlflow.tracking.plan.params import flatten, to_text

    assert workspace is not None  # the dry run returned above
    ref = SweepJobRef(workspace, str(job.name), settings)
    log_definition(ref, {key: to_text(value) for key, value in flatten(fixed, ".").items()})
    if not cli["wait"]:
        console.print(f"Follow it with: kedro azureml status {job.name} (its trials) / kedro azureml cancel {job.name}")
        return
    follow_sweep(ref, options.wait_limits(), console)


def create_sweep_job(
    workspace: Any,
    staging: Path,
    trial_run: Any,
    options: Any,
    experiment: str,
    settings: Any,
    names: dict[str, str],
    cli: dict[str, Any],
) -> Any:
    """Check compute and environment (``submit``'s checks), then upload the snapshot and create the sweep job."""
    from kedro_azureml_mlflow.backend.job import command_job
    from kedro_azureml_mlflow.backend.submission import prepare_job
    from kedro_azureml_mlflow.bundle.mlproject import ENTRY_POINT
    from kedro_azureml_mlflow.sweeps.azure_job import sweep_job

    request = prepare_job(workspace, staging, ENTRY_POINT, trial_run.as_parameters(), options, experiment)
    job = sweep_job(command_job(request), settings, names, cli["early_termination"])
    with workspace.errors("creating the sweep job"):
        return workspace.ml_client.jobs.create_or_update(job)


def follow_sweep(ref: Any, limits: Any, console: Any) -> None:
    """Print each trial as it ends, then the table and the best (written to the sweep's run); fail unless the
    sweep completed."""
    from kedro_azureml_mlflow.sweeps.azure_follow import follow, write_best
    from kedro_azureml_mlflow.sweeps.report import best_line, trial_line, trials_table

    settings = ref.settings
    try:
        outcome = follow(
            ref,
            limits,
            lambda result: console.print(trial_line(result, settings.max_trials, settings.objective), highlight=False),
        )
    except KeyboardInterrupt:
        raise PluginError(
            f"Stopped following sweep job {ref.name}; it keeps running (kedro azureml cancel {ref.name} stops it)"
        ) from None
    outcome = write_best(ref, outcome)
    console.print(trials_table(outcome, [dim.name for dim in settings.space], settings.objective))
    console.print(best_line(outcome, settings.objective), highlight=False)
    if outcome.status != "Completed":
        raise PluginError(
            f"Sweep job {ref.name} is {outcome.status}, not Completed; see kedro azureml status {ref.name}"
        )


def show_dry_run(
    package: Any,
    trial_run: Any,
    options: Any,
    experiment: str,
    settings: Any,
    names: dict[str, str],
    early_termination: str | None,
) -> None:
    """The package and the sweep job as they would be sent; nothing is sent."""
    from rich.console import Console

    from kedro_azureml_mlflow.backend.environment import job_command
    from kedro_azureml_mlflow.bundle.mlproject import run_command
    from kedro_azureml_mlflow.bundle.report import show_package
    from kedro_azureml_mlflow.cli.submit import show_job
    from kedro_azureml_mlflow.sweeps.azure_job import describe

    out = Console()
    command = job_command(package.staging, package.staging / package.env_file, run_command(trial_run))
    show_package(package, command, out)
    show_job(options, experiment, package.staging, out)
    out.print("── What the sweep job adds: each trial runs the command above with its values")
    for line in describe(settings, names, early_termination):
        out.print(line, markup=False, highlight=False)
