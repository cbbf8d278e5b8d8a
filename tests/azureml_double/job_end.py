"""How every job of the double ends (command, step, trial, pipeline, sweep): its MLflow run first, then its
status, so that a reader who sees the job ended finds its run ended too."""

from __future__ import annotations

from typing import Any

from tests.azureml_double.routing import utcnow

MLFLOW_END = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}


def record_end(job: Any, mlflow: Any, end_status: str) -> None:
    """End the job's run (if it has one) and record its end; ``finished`` is the caller's to set."""
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


def end_parent(job: Any, mlflow: Any, end_status: str) -> None:
    """A pipeline or sweep job: nothing else to clean up."""
    record_end(job, mlflow, end_status)
    job.finished.set()
