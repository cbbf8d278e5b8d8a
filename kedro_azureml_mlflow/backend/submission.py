"""From an MLflow Project folder to a running Azure ML job, in two steps: ``prepare_job`` checks
everything (nothing uploaded yet), ``submit_job`` uploads and creates the job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.backend.environment import command_env_file, job_command, job_environment
from kedro_azureml_mlflow.backend.job import JobRequest, check_compute, check_environment, create_job
from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.bundle.mlproject import entry_point_command, load_mlproject
from kedro_azureml_mlflow.core.errors import PluginError

RUN_APPEARS_TIMEOUT_SECONDS = 60.0


def prepare_job(
    workspace: AzureWorkspace,
    project_dir: Path,
    entry_point: str,
    parameters: dict[str, Any],
    options: JobOptions,
    experiment_name: str | None = None,
) -> JobRequest:
    """Check compute and environment and build the job's command; nothing is uploaded."""
    if options.compute is None:
        raise PluginError(
            "No compute given: set COMPUTE in backend_config or --compute (submit.compute in azureml.yml)"
        )
    check_compute(workspace, options.compute)
    project = load_mlproject(project_dir)
    command = job_command(project_dir, command_env_file(project), entry_point_command(project, entry_point, parameters))
    environment = job_environment(project_dir, project, options)
    if options.environment and not environment.startswith("azureml://registries/"):
        check_environment(workspace, environment)
    return JobRequest(
        code_dir=project_dir,
        command=command,
        environment=environment,
        options=options,
        experiment_name=options.experiment_name or experiment_name or project.name or project_dir.name,
    )


def submit_job(workspace: AzureWorkspace, request: JobRequest) -> Any:
    """Upload the snapshot, create the job, print where to watch it; returns the SDK's job."""
    job = create_job(workspace, request)
    click.echo(f"Azure ML job {job.name} submitted to '{request.options.compute}': {job.studio_url}", err=True)
    return job


def wait_for_mlflow_run(tracking_uri: str, run_id: str, timeout: float = RUN_APPEARS_TIMEOUT_SECONDS) -> None:
    """Return once the MLflow run Azure ML creates for the job exists (callers tag and read it)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.get_run(run_id)
            return
        except MlflowException:
            if time.monotonic() > deadline:
                raise PluginError(
                    f"Azure ML created job {run_id} but its MLflow run did not appear in {timeout:.0f} s"
                ) from None
            time.sleep(0.5)
