"""``mlflow.projects.run(..., backend="azureml-v2")``: any MLflow Project as an Azure ML command job.

``COMPUTE`` missing or ``local`` runs the project on this machine through MLflow's own local
backend (``USE_CONDA`` picks conda or the current environment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.projects.backend.abstract_backend import AbstractBackend
from mlflow.projects.submitted_run import SubmittedRun

from kedro_azureml_mlflow.backend.options import JobOptions, parse_backend_config


class AzureMLProjectBackend(AbstractBackend):
    """The ``azureml-v2`` project backend (entry point group ``mlflow.project_backend``)."""

    def run(
        self,
        project_uri: str,
        entry_point: str,
        params: dict[str, Any],
        version: str | None,
        backend_config: dict[str, Any] | str | None,
        tracking_uri: str | None,
        experiment_id: str | None,
    ) -> SubmittedRun:
        options, mlflow_keys = parse_backend_config(backend_config)
        if options.runs_locally:
            return _run_locally(
                options, mlflow_keys, project_uri, entry_point, params, version, tracking_uri, experiment_id
            )
        return _run_on_azure(options, project_uri, entry_point, params or {}, version, tracking_uri, experiment_id)


def _run_locally(
    options: JobOptions,
    mlflow_keys: dict[str, Any],
    project_uri: str,
    entry_point: str,
    params: dict[str, Any],
    version: str | None,
    tracking_uri: str | None,
    experiment_id: str | None,
) -> SubmittedRun:
    from mlflow.projects.backend.local import LocalBackend
    from mlflow.projects.utils import PROJECT_ENV_MANAGER

    config = dict(mlflow_keys)
    config[PROJECT_ENV_MANAGER] = config.get(PROJECT_ENV_MANAGER) or ("conda" if options.use_conda else "local")
    local: Any = LocalBackend()  # untyped in MLflow
    submitted: SubmittedRun = local.run(project_uri, entry_point, params, version, config, tracking_uri, experiment_id)
    return submitted


def _run_on_azure(
    options: JobOptions,
    project_uri: str,
    entry_point: str,
    params: dict[str, Any],
    version: str | None,
    tracking_uri: str | None,
    experiment_id: str | None,
) -> SubmittedRun:
    import mlflow
    from mlflow.projects.utils import fetch_and_validate_project

    from kedro_azureml_mlflow.azure_ml.client import require_workspace
    from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking
    from kedro_azureml_mlflow.backend.project_config import project_config
    from kedro_azureml_mlflow.backend.submission import prepare_job, submit_job, wait_for_mlflow_run
    from kedro_azureml_mlflow.backend.submitted_run import AzureMLSubmittedRun

    fetch: Any = fetch_and_validate_project  # untyped in MLflow
    work_dir = Path(fetch(project_uri, version, entry_point, params))
    config, config_file = project_config(work_dir, params.get("env"))
    workspace = require_workspace(config, work_dir, config_file)
    # Every MLflow call on the workspace's store signs in with the credential that submits the job.
    use_credential_for_tracking(workspace.tracking_uri, workspace)
    request = prepare_job(
        workspace, work_dir, entry_point, params, options, _same_store_experiment(tracking_uri, experiment_id)
    )
    job = submit_job(workspace, request)
    # MLflow tags and waits on the returned run in its current store: make that the workspace's.
    mlflow.set_tracking_uri(workspace.tracking_uri)
    wait_for_mlflow_run(workspace.tracking_uri, job.name)
    return AzureMLSubmittedRun(workspace, job.name, stream=options.stream, limits=options.wait_limits())


def _same_store_experiment(tracking_uri: str | None, experiment_id: str | None) -> str | None:
    """The experiment MLflow resolved, when it resolved it in an Azure ML workspace store."""
    if not tracking_uri or not experiment_id or not tracking_uri.startswith("azureml:"):
        return None
    from mlflow.tracking import MlflowClient

    return str(MlflowClient(tracking_uri).get_experiment(experiment_id).name)
