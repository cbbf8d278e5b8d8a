"""Every private API the plugin uses (all in ``kedro_azureml_mlflow/core/compat.py``) works with the installed
versions, and those versions are inside the bounds ``pyproject.toml`` declares. (Those that need an SQLite
store, such as ``client_with_artifact_root``, are checked in ``tests/integration/test_compat_store.py``.)"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import click
import pytest
from packaging.requirements import Requirement

from kedro_azureml_mlflow.bundle.pyproject import read_pyproject
from kedro_azureml_mlflow.core import compat

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("package", ["azure-ai-ml", "azureml-mlflow", "mlflow"])
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
