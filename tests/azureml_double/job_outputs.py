"""A job's ``./outputs``, kept as Azure ML keeps them.

Azure ML keeps only ``./outputs`` and ``./logs`` of a command job's working directory: when the job
ends (its ``Finalizing`` phase, whatever the job's status) it uploads ``./outputs`` to run history's
folder of the job in ``workspaceartifactstore``, ``ExperimentRun/dcid.<job>/outputs/…`` (Azurite
container ``azureml`` here), where ``jobs.download`` (``artifacts/outputs/…``) and the run's MLflow
artifacts (``outputs/…``) find it. The double uploads once, at the end; Azure ML may also upload
while the job runs.
"""

from __future__ import annotations

from typing import Any

from tests.azureml_double.artifact_store import ARTIFACT_STORE_CONTAINER, run_prefix

OUTPUTS = "outputs"


def ship_outputs(storage: Any, job: Any) -> int:
    """Upload the job's ``./outputs`` (its working directory is ``<scratch>/wd``); the number of files."""
    if job.scratch is None:
        return 0
    outputs = job.scratch / "wd" / OUTPUTS
    files = sorted(path for path in outputs.rglob("*") if path.is_file()) if outputs.is_dir() else []
    for path in files:
        blob = f"{run_prefix(job.name)}/{OUTPUTS}/{path.relative_to(outputs).as_posix()}"
        storage.upload_file(ARTIFACT_STORE_CONTAINER, blob, path)
    return len(files)
