"""Where run history keeps a run's files: ``workspaceartifactstore`` (Azurite container ``azureml``),
``ExperimentRun/dcid.<run>/...``: job logs and ``./outputs``, and the run's MLflow artifacts."""

from __future__ import annotations

from typing import Any

ARTIFACT_STORE = "workspaceartifactstore"
BLOB_STORE = "workspaceblobstore"
ARTIFACT_STORE_CONTAINER = "azureml"  # run history's container (routes_artifacts.py, job logs and outputs)


def run_prefix(run: str) -> str:
    """Where run history keeps a run's files in ``workspaceartifactstore``."""
    return f"ExperimentRun/dcid.{run}"


def default_output(job_name: str) -> dict[str, Any]:
    """The ``outputs.default`` Azure ML adds to every command job (as in ``job_put_201_command_cluster_starting``)."""
    return {
        "description": None,
        "uri": f"azureml://datastores/{ARTIFACT_STORE}/{run_prefix(job_name)}",
        "assetName": None,
        "mode": "ReadWriteMount",
        "jobOutputType": "uri_folder",
    }
