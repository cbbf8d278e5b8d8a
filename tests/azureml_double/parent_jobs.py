"""What a pipeline job and a sweep job share as parents of other jobs: the fields a PUT may change on one that
exists, their own MLflow run (made when the job is accepted, ended with it), and how they end."""

from __future__ import annotations

from typing import Any

from tests.azureml_double.routing import utcnow

MLFLOW_END = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}
MUTABLE_FIELDS = ("tags", "description", "displayName")  # what Azure lets a PUT change on an existing job


def update_existing(existing: Any, props: dict[str, Any]) -> None:
    for key in MUTABLE_FIELDS:
        if key in props:
            existing.props[key] = props[key]


def open_parent_run(double: Any, job: Any, name: str, props: dict[str, Any]) -> None:
    """The parent's MLflow run, named after the job, as Azure ML makes it on submission."""
    mlflow = double.compute.mlflow
    job.mlflow_experiment_id = mlflow.experiment_id(job.experiment_name)
    job.mlflow_run_id = mlflow.create_run(
        job.mlflow_experiment_id,
        name,
        props.get("displayName") or name,
        {"azureml.jobName": name, "mlflow.source.type": "JOB", "mlflow.user": "double@example.invalid"},
    )


def end_parent(job: Any, mlflow: Any, end_status: str) -> None:
    """End the parent's run and the job (its status last: a reader that sees it ended finds the run ended)."""
    if job.mlflow_run_id:
        try:
            mlflow.end_run_if_running(job.mlflow_run_id, MLFLOW_END[end_status])
        except Exception as e:  # noqa: BLE001 - the job's end is recorded whatever mlflow says
            print(f"azureml double: could not end mlflow run {job.mlflow_run_id}: {e!r}", flush=True)
    with job.lock:
        job.end_time = utcnow()
        if job.start_time is None:
            job.start_time = job.end_time
        job.status = end_status
    job.finished.set()
