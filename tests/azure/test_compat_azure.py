"""compat.py's private-API paths against the local Azure ML double."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_azureml_mlflow.core import compat

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.azure
def test_run_history_details_and_tracking_credential(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import command
    from azure.ai.ml.entities import Environment
    from mlflow.tracking import MlflowClient

    ml_client = azureml_double.ml_client()
    (tmp_path / "main.py").write_text("print('details')\n")
    job = ml_client.jobs.create_or_update(
        command(
            code=str(tmp_path), command="python main.py", compute="cpu-cluster", environment=Environment(image="i:1")
        )
    )
    azureml_double.wait_for_job(job.name)
    details = compat.run_history_details(ml_client, job.name)
    assert details.status == "Completed" and "user_logs/std_log.txt" in details.log_files

    since = azureml_double.last_seq()
    _register(azureml_double, azureml_double.credential())
    assert MlflowClient(azureml_double.tracking_uri).get_run(job.name).info.run_id == job.name
    assert azureml_double.mlflow_requests(since), "the store signed in with the registered credential"


@pytest.mark.azure
def test_a_newly_registered_credential_signs_the_next_client_in(azureml_double) -> None:
    """MLflow keeps one store per URI for the process: registering another credential must still take effect."""
    from mlflow.tracking import MlflowClient

    from tests.azureml_double import FakeTokenCredential

    first, second = FakeTokenCredential(lifetime=1000), FakeTokenCredential(lifetime=5000)
    _register(azureml_double, first)
    since = azureml_double.last_seq()
    MlflowClient(azureml_double.tracking_uri).search_experiments()
    signed_by_first = _token_lifetimes(azureml_double, since)

    _register(azureml_double, second)
    since = azureml_double.last_seq()
    MlflowClient(azureml_double.tracking_uri).search_experiments()

    assert signed_by_first == {1000}
    assert _token_lifetimes(azureml_double, since) == {5000}


def _register(double, credential: object) -> None:
    compat.register_tracking_credential(
        double.tracking_uri,
        double.base_url,
        double.subscription_id,
        double.resource_group,
        double.workspace_name,
        credential,
    )


def _token_lifetimes(double, since: int) -> set[int]:
    """How far ahead of each MLflow request's time its bearer token expired (rounded to 100 s)."""
    return {round((r["token_exp"] - r["time"]) / 100) * 100 for r in double.mlflow_requests(since)}
