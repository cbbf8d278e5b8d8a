"""The MLflow runs of a pipeline job and its steps, as ``cancel`` shows them.

On Azure ML a job's MLflow run is its run-history run (same id): cancelling a pipeline job cancels its
running steps, and the pipeline's run and each cancelled step's run end ``KILLED`` with their jobs.
``cancel`` reads them back, so the user sees that no run was left ``RUNNING``.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace


def run_statuses(workspace: AzureWorkspace, run_ids: Iterable[str]) -> dict[str, str]:
    """Each run's MLflow status; a run that cannot be read (a step that never got one) is left out."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking

    use_credential_for_tracking(workspace.tracking_uri, workspace)
    client = MlflowClient(workspace.tracking_uri)
    statuses: dict[str, str] = {}
    for run_id in run_ids:
        try:
            statuses[run_id] = str(client.get_run(run_id).info.status)
        except MlflowException:
            continue
    return statuses
