"""What a pipeline job and a sweep job share as parents of other jobs: the fields a PUT may change on one that
exists, and their own MLflow run, made when the job is accepted (``job_end`` ends it with the job)."""

from __future__ import annotations

from typing import Any

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
