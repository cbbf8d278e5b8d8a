"""Read a run's artifacts back, from wherever this project tracks its runs.

Datasets load from ``runs:/…`` and ``models:/…`` through MLflow's public download call, signed in
the way the plugin signs in (a workspace's credential for ``azureml://`` URIs). Outside a Kedro
session they use ``MLFLOW_TRACKING_URI``, as MLflow itself would.
"""

from __future__ import annotations

from pathlib import Path

from kedro_azureml_mlflow.io.artifacts import handoff


def download(artifact_uri: str, destination: Path) -> Path:
    """Download ``runs:/<run>/<path>`` or ``models:/<name>/<version>|@<alias>`` into ``destination``."""
    import mlflow.artifacts

    tracking_uri = None
    found = handoff.target()
    if found is not None:
        from kedro_azureml_mlflow.azure_ml.mlflow_sign_in import use_credential_for_tracking

        use_credential_for_tracking(found.tracking_uri, found.workspace)
        tracking_uri = found.tracking_uri
    destination.mkdir(parents=True, exist_ok=True)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=artifact_uri, dst_path=str(destination), tracking_uri=tracking_uri
    )
    return Path(local)
