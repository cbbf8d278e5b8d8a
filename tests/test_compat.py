"""Every private API the plugin uses (all in ``kedro_azureml_mlflow/core/compat.py``) works with the installed
versions, and those versions are inside the bounds ``pyproject.toml`` declares."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import click
import pytest
from packaging.requirements import Requirement

from kedro_azureml_mlflow.bundle.pyproject import read_pyproject
from kedro_azureml_mlflow.core import compat

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["azure-ai-ml", "azureml-mlflow"])
def test_installed_version_is_inside_the_declared_bounds(package: str) -> None:
    declared = read_pyproject(ROOT)["project"]["dependencies"]
    (requirement,) = [Requirement(line) for line in declared if Requirement(line).name == package]
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{package} needs an upper bound"
    assert requirement.specifier.contains(metadata.version(package), prereleases=True)


def test_sdk_statuses() -> None:
    assert compat.sdk_terminal_statuses() == {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}
    assert compat.sdk_job_statuses() >= {"NotStarted", "Starting", "Finalizing", "NotResponding", "Paused", "Unknown"}
    assert len(compat.sdk_job_statuses()) == 14


def test_load_mlflow_project(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: echo\n")
    (tmp_path / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    project = compat.load_mlflow_project(str(tmp_path))
    assert project.env_config_path == str(tmp_path / "conda.yaml")
    assert project.get_entry_point("main").command == "echo"


def test_parse_kedro_params() -> None:
    ctx = click.Context(click.Command("run"))
    param = click.Option(["--params"])
    assert compat.parse_kedro_params(ctx, param, "a=1,b.c=x") == {"a": 1, "b": {"c": "x"}}
    with pytest.raises(click.UsageError):
        compat.parse_kedro_params(ctx, param, "no-equals-sign")


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


def test_activate_run_is_every_threads_active_run_until_deactivated() -> None:
    import threading

    import mlflow

    info = {"run_id": "r" * 32, "experiment_id": "1", "user_id": "u", "status": "RUNNING", "start_time": 1}
    seen: list[object] = []
    activated = compat.activate_run(info)
    try:
        worker = threading.Thread(target=lambda: seen.append(mlflow.active_run()))
        worker.start()
        worker.join()
        assert mlflow.active_run().info.run_id == "r" * 32  # this thread
        assert [run.info.run_id for run in seen] == ["r" * 32]  # a thread that had never used MLflow
        assert mlflow.tracking.fluent._get_experiment_id() == "1"  # a nested run's experiment
    finally:
        compat.deactivate_run(activated)
    assert mlflow.active_run() is None
    assert mlflow.tracking.fluent._active_experiment_id is None


def test_deactivating_leaves_the_same_run_active_as_its_owners() -> None:
    """kedro-mlflow's run, joined by the plugin: taking the plugin's bridge off must not take the owner's run."""
    from mlflow.entities import Run, RunData, RunInfo
    from mlflow.tracking import fluent

    info = {"run_id": "o" * 32, "experiment_id": "1", "user_id": "u", "status": "RUNNING", "start_time": 1}
    owners = fluent.ActiveRun(Run(RunInfo(**info, end_time=None, lifecycle_stage="active"), RunData()))
    fluent._active_run_stack.get().append(owners)
    try:
        compat.deactivate_run(compat.activate_run(info))
        assert fluent._active_run_stack.get() == [owners]
    finally:
        fluent._active_run_stack.get().remove(owners)


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


def test_a_forgotten_sql_store_is_opened_afresh(tmp_path: Path) -> None:
    """MLflow keeps a SQLite store (its file open) per URI for the process; forgetting it must reach a new file."""
    from mlflow.tracking import MlflowClient

    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database.as_posix()}"
    try:
        MlflowClient(uri).create_experiment("before")
        database.unlink()
        compat.forget_sql_store(uri)
        MlflowClient(uri).create_experiment("after")  # without forgetting: "attempt to write a readonly database"

        assert database.exists()
        assert {e.name for e in MlflowClient(uri).search_experiments()} == {"Default", "after"}
    finally:
        compat.forget_sql_store(uri)  # nothing of this test's store stays in the process
