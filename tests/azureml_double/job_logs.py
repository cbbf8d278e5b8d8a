"""A job's log files: copied to ``workspaceartifactstore`` while the job runs and once more when it ends,
where ``jobs.stream`` and ``jobs.download`` read them (run history serves them from the scratch folder)."""

from __future__ import annotations

import threading
from typing import Any

from tests.azureml_double.artifact_store import ARTIFACT_STORE_CONTAINER, run_prefix
from tests.azureml_double.job import Job

LOG_SHIP_SECONDS = 0.5  # how often a running job's log is copied to the artifact store


def ship_log(storage: Any, job: Job) -> None:
    """Copy the job's logs to ``workspaceartifactstore`` (run history's ``ExperimentRun/dcid.<job>/``)."""
    for name in job.log_names():
        storage.upload_file(ARTIFACT_STORE_CONTAINER, f"{run_prefix(job.name)}/{name}", job.scratch / name)


def ship_log_while_running(storage: Any, job: Job, stopping: threading.Event) -> None:
    shipped: list[int] = []
    while job.proc is not None and job.proc.poll() is None and not stopping.wait(LOG_SHIP_SECONDS):
        sizes = [(job.scratch / name).stat().st_size for name in job.log_names()]
        if sizes != shipped:
            ship_log(storage, job)
            shipped = sizes
