"""End to end against the local Azure ML double: its emulated compute really runs the submitted job.

The starter project reads ``data/01_raw/iris.csv``; these tests let that file travel with the code
(``--include-data`` and no ``data/`` line in ``.amlignore``), as a project whose raw data is small would.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.azureml_double import AzureMLDouble
from tests.e2e.test_backend_local import write_plain_project
from tests.kedro_project import run_kedro
from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]

UPLOADS = ("startPendingUpload", "/codes/", "/jobs/")


def ship_raw_data(project: Path) -> Path:
    amlignore = project / ".amlignore"
    amlignore.write_text(
        "\n".join(line for line in amlignore.read_text().splitlines() if line.strip() != "data/") + "\n"
    )
    return project


def submit(project: Path, double: AzureMLDouble, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_kedro(["azureml", "submit", *args], project, extra_env=double.client_env(), check=check, timeout=400)


def job_name_from(output: str) -> str:
    found = re.search(r"Azure ML job (\S+) submitted", output)
    assert found, output
    return found.group(1)


def upload_requests(double: AzureMLDouble, since: int = 0) -> list[dict[str, Any]]:
    return [
        r for r in double.requests(since) if r["method"] in {"PUT", "POST"} and any(u in r["path"] for u in UPLOADS)
    ]


def mlflow_client(double: AzureMLDouble) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(double.mlflow_url)


def run_ids(client: Any) -> set[str]:
    """Every run of every experiment in the store (the double's store is shared by the whole test session)."""
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    return {run.info.run_id for run in client.search_runs(experiments, max_results=50000)}


def test_submit_wait_runs_kedro_from_the_snapshot_into_the_jobs_run(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    project = starter_project  # as `kedro new --starter=azureml-mlflow` made it: no workaround
    (project / "conf/local/credentials.yml").write_text("secret: do-not-upload\n")
    client = mlflow_client(azureml_double)
    runs_before = run_ids(client)
    result = submit(project, azureml_double, "--compute", "cpu-cluster", "--wait", "--params", "model.C=0.5")
    output = result.stdout + result.stderr
    name = job_name_from(output)

    info = azureml_double.job_info(name)
    assert info["status"] == "Completed"
    assert "kedro run --pipelines=__default__" in info["command"]
    scratch = Path(info["scratch_dir"]) / "wd"
    assert (scratch / "MLproject").is_file() and (scratch / "src/demo/pipeline_registry.py").is_file()
    assert not (scratch / "conf/local/credentials.yml").exists()
    assert (scratch / "conf/local/.gitkeep").exists()
    assert (scratch / "data/01_raw/iris.csv").is_file()  # the starter's azureml.yml uploads its raw input
    job_log = azureml_double.job_log(name)
    assert re.search(r"Completed (\d+) out of \1 tasks", job_log) and "Pipeline execution completed" in job_log

    run = client.get_run(name)  # Azure ML's run id is the job name: the hooks resumed it
    assert run.data.params["model.C"] == "0.5"
    assert run.data.metrics["model_metrics.accuracy"] > 0.8
    assert run_ids(client) - runs_before == {name}, "a second run was opened"

    status = run_kedro(["azureml", "status", name], project, extra_env=azureml_double.client_env(), check=True)
    assert f"{name}: Completed" in status.stdout
    logs = run_kedro(["azureml", "logs", name], project, extra_env=azureml_double.client_env(), check=True)
    assert "── user_logs/std_log.txt" in logs.stdout and "MLflow: tracked run" in logs.stdout


def test_failed_job_exits_non_zero_with_its_reason(starter_project: Path, azureml_double: AzureMLDouble) -> None:
    azureml_double.fail_next_job(message="the node ran out of memory")
    result = submit(
        ship_raw_data(starter_project),
        azureml_double,
        "--compute",
        "cpu-cluster",
        "--include-data",
        "--wait",
        "--no-stream",
        check=False,
    )
    assert result.returncode == 1
    assert "ended Failed: the node ran out of memory" in result.stderr


def test_job_failing_in_the_pipeline_shows_the_end_of_its_log(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    result = submit(
        ship_raw_data(starter_project),
        azureml_double,
        "--compute",
        "cpu-cluster",
        "--include-data",
        "--params",
        "split.target_column=no_such_column",
        "--wait",
        "--no-stream",
        check=False,
    )
    assert result.returncode == 1
    assert "── last 30 lines of user_logs/std_log.txt" in result.stderr
    assert "KeyError" in result.stderr.split("── last 30 lines")[1] and "no_such_column" in result.stderr
    assert "User process '/bin/bash' exited with status code 1" in result.stderr


def test_job_importing_what_the_requirements_do_not_list_fails_of_it(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    """It runs here (the test venv has hypothesis); the job's interpreter has only what requirements.txt brings."""
    project = ship_raw_data(starter_project)
    nodes = next(project.glob("src/*/pipelines/training/nodes.py"))
    nodes.write_text(nodes.read_text() + "\nimport hypothesis  # noqa: E402, F401  (not in requirements.txt)\n")

    result = submit(
        project, azureml_double, "--compute", "cpu-cluster", "--include-data", "--wait", "--no-stream", check=False
    )

    assert result.returncode == 1, result.stderr
    assert "ImportError: An error occurred while importing the 'demo.pipelines.training'" in result.stderr
    assert "ModuleNotFoundError: No module named 'hypothesis'" in azureml_double.job_log(job_name_from(result.stderr))


def test_dry_run_uploads_nothing(starter_project: Path, azureml_double: AzureMLDouble) -> None:
    since = azureml_double.last_seq()
    result = submit(starter_project, azureml_double, "--compute", "cpu-cluster", "--dry-run")
    assert "── MLproject" in result.stdout and "Dry run: nothing was uploaded" in result.stdout
    assert upload_requests(azureml_double, since) == []


def test_unknown_compute_suggests_the_close_match_before_uploading(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    since = azureml_double.last_seq()
    result = submit(starter_project, azureml_double, "--compute", "cpu-clustr", check=False)
    assert result.returncode == 1
    assert "compute 'cpu-clustr' not found" in result.stderr and "did you mean 'cpu-cluster'?" in result.stderr
    assert upload_requests(azureml_double, since) == []


def test_unknown_environment_is_an_error_before_uploading(starter_project: Path, azureml_double: AzureMLDouble) -> None:
    since = azureml_double.last_seq()
    result = submit(
        starter_project, azureml_double, "--compute", "cpu-cluster", "--environment", "azureml:nope:1", check=False
    )
    assert result.returncode == 1 and "environment 'azureml:nope:1' not found" in result.stderr
    assert upload_requests(azureml_double, since) == []


def test_cancel_leaves_the_job_canceled_and_its_process_gone(
    starter_project: Path, azureml_double: AzureMLDouble
) -> None:
    project = ship_raw_data(starter_project)
    nodes = next(project.glob("src/*/pipelines/training/nodes.py"))
    # Only inside the job (the double injects AZUREML_RUN_ID): the submitting process imports it too.
    nodes.write_text(
        nodes.read_text() + "\nimport os, time\nif os.environ.get('AZUREML_RUN_ID'):\n    time.sleep(600)\n"
    )
    name = job_name_from(
        submit(project, azureml_double, "--compute", "cpu-cluster", "--include-data", "--no-wait").stderr
    )
    azureml_double.wait_for_job(name, statuses=("Running",), timeout=120)
    pid = int(wait_until(lambda: azureml_double.job_info(name)["pid"], timeout=60, what=f"job {name}'s process"))

    result = run_kedro(["azureml", "cancel", name], project, extra_env=azureml_double.client_env(), check=True)
    assert f"{name}: Canceled" in result.stdout
    info = azureml_double.job_info(name)
    assert info["status"] == "Canceled" and info["process_alive"] is False
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the job's whole process group is gone, as the operating system sees it


def test_mlflow_projects_run_on_a_plain_mlflow_project(
    tmp_path: Path, azureml_double: AzureMLDouble, monkeypatch: pytest.MonkeyPatch, mlflow_tracking_uri: Any
) -> None:
    import mlflow

    monkeypatch.chdir(write_plain_project(tmp_path))
    mlflow_tracking_uri(azureml_double.tracking_uri)
    since = azureml_double.last_seq()
    submitted = mlflow.projects.run(
        uri=".",
        parameters={"alpha": 0.25},
        backend="azureml-v2",
        backend_config={"COMPUTE": "cpu-cluster", "USE_CONDA": False, "EXPERIMENT_NAME": "plain-exp"},
    )
    assert submitted.get_status() == "FINISHED"
    info = azureml_double.job_info(submitted.run_id)
    assert info["status"] == "Completed" and "python train.py --alpha 0.25" in info["command"]
    run = mlflow_client(azureml_double).get_run(submitted.run_id)
    assert run.data.params["alpha"] == "0.25" and run.data.metrics["rmse"] == 0.75
    assert run.data.tags["mlflow.project.backend"] == "azureml-v2"
    env_puts = [r for r in azureml_double.requests(since, path_contains="/environments/", method="PUT")]
    assert env_puts, "the job's environment was built from python_env.yaml and registered"
