"""A multi-node job on the double tracks from rank 0 only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.azure.test_submit_azure import job_name_from, mlflow_client, run_ids, ship_raw_data
from tests.kedro_project import run_kedro


@pytest.mark.azure
@pytest.mark.slow
def test_two_node_pytorch_job_gives_one_run_with_every_metric_once(starter_project: Path, azureml_double) -> None:
    project = ship_raw_data(starter_project)
    (project / "conf/local/azureml.yml").write_text("submit:\n  instance_count: 2\n  distribution: pytorch\n")
    args = ["azureml", "submit", "--compute", "cpu-cluster", "--include-data", "--wait", "--no-stream"]
    client = mlflow_client(azureml_double)
    runs_before = run_ids(client)
    result = run_kedro(args, cwd=project, extra_env=azureml_double.client_env(), timeout=600, check=True)
    name = job_name_from(result.stderr)

    info = azureml_double.job_info(name)
    logs = [(Path(info["scratch_dir"]) / f"user_logs/std_log_process_{rank}.txt").read_text() for rank in (0, 1)]
    assert all("Pipeline execution completed" in text for text in logs), logs  # both nodes ran the pipeline
    run = client.get_run(name)
    assert run_ids(client) - runs_before == {name}, "one run for the job"
    assert run.data.metrics, "rank 0 logged the pipeline's metrics"
    for key in run.data.metrics:  # a list is a curve (steps 0, 1, ...): each step once
        steps = [metric.step for metric in client.get_metric_history(name, key)]
        assert len(steps) == len(set(steps)), f"{key} logged more than once: steps {sorted(steps)}"
