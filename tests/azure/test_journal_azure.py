"""A job's journal: kept in its outputs when its tracking server is unavailable, delivered by ``sync --job``.

Against the local Azure ML double: the emulated compute really runs the submitted job, uploads its
``./outputs`` when it ends (``tests/azureml_double/job_outputs.py``), and ``kedro azureml sync --job``
downloads them with the real ``azure-ai-ml`` client.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.kedro_project import run_kedro

pytestmark = [pytest.mark.azure, pytest.mark.slow]

JOB_JOURNAL = "outputs/kedro_azureml_mlflow/journal"


def test_a_jobs_journal_is_in_its_outputs_and_sync_job_delivers_it_once(starter_project: Path, azureml_double) -> None:
    config_file = starter_project / "conf/base/azureml.yml"
    config = yaml.safe_load(config_file.read_text()) or {}
    config.setdefault("submit", {})["environment_variables"] = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    config_file.write_text(yaml.safe_dump(config))
    # The tracking server refuses every log request while the job runs (what the job's pipeline sends).
    azureml_double.inject_http_fault(r"/runs/log-batch$", status=503, count=10_000, retry_after=None)

    submitted = run_kedro(
        ["azureml", "submit", "--compute", "cpu-cluster", "--wait", "--no-stream"],
        cwd=starter_project,
        extra_env=azureml_double.client_env(),
        timeout=400,
        check=True,
    )
    job = re.search(r"Azure ML job (\S+) submitted", submitted.stdout + submitted.stderr)
    assert job, submitted.stdout + submitted.stderr
    name = job.group(1)
    assert azureml_double.job_info(name)["status"] == "Completed"  # the pipeline itself succeeded
    client = azureml_double_client(azureml_double)
    assert client.get_run(name).data.metrics == {}  # nothing reached the run
    kept = azureml_double.blob_service().get_container_client("azureml")
    kept_blobs = kept.list_blobs(name_starts_with=f"ExperimentRun/dcid.{name}/{JOB_JOURNAL}/")
    journals = [blob.name for blob in kept_blobs if blob.name.endswith(".jsonl")]
    assert len(journals) == 1, journals  # in the job's outputs, as Azure ML keeps them

    azureml_double.clear_faults()
    synced = run_kedro(
        ["azureml", "sync", "--job", name], cwd=starter_project, extra_env=azureml_double.client_env(), check=True
    )
    assert f"to run {name}" in synced.stdout, synced.stdout + synced.stderr

    run = client.get_run(name)
    assert run.data.metrics["model_metrics.accuracy"] > 0.8
    assert run.data.tags.get("kedro.pipeline") == "__default__", azureml_double.job_log(name)
    assert len(client.get_metric_history(name, "model_metrics.accuracy")) == 1

    before = azureml_double.last_seq()
    again = run_kedro(
        ["azureml", "sync", "--job", name], cwd=starter_project, extra_env=azureml_double.client_env(), check=True
    )
    assert "fetched from job" in again.stdout and "not sent again" in again.stdout
    assert azureml_double.mlflow_requests(before) == []  # fetched again, sent nothing again


def azureml_double_client(double):
    from mlflow.tracking import MlflowClient

    return MlflowClient(double.mlflow_url)
