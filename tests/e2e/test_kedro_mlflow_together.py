"""kedro-mlflow installed alongside: one ``kedro run`` gives exactly one run.

kedro-mlflow 2.x opens its run in ``before_pipeline_run``; the plugin's hook runs after it
(``trylast``), finds that active run, logs into it and leaves its end to kedro-mlflow. kedro-mlflow
is installed (without dependencies: kedro, mlflow and pydantic come from the test venv) into a
folder put on ``PYTHONPATH`` for these runs only, so no other test ever sees its hooks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.artifact_project import EXPECTED_FILES, use_artifact_pipeline
from tests.kedro_project import KedroProject, clean_env
from tests.session_cache import cache_dir

pytestmark = pytest.mark.slow

KEDRO_MLFLOW = "kedro-mlflow>=2,<3"


@pytest.fixture(scope="session")
def kedro_mlflow_path(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding kedro-mlflow 2.x (cached between sessions), for ``PYTHONPATH``."""
    target = cache_dir(pytestconfig, "kedro-mlflow-2") or tmp_path_factory.mktemp("kedro-mlflow")
    if not any(target.glob("kedro_mlflow-2.*.dist-info")):
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade", "--target"]
        result = subprocess.run([*install, str(target), KEDRO_MLFLOW], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"pip could not install {KEDRO_MLFLOW}:\n{result.stderr[-3000:]}"
    return target


def all_runs(project: KedroProject) -> list:
    client = project.client()
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments)


def test_with_kedro_mlflow_one_kedro_run_is_one_run_holding_both_plugins_logging(
    project: KedroProject, kedro_mlflow_path: Path
) -> None:
    use_artifact_pipeline(project, tracking_extra="  metrics:\n    datasets: ['*_report']\n")
    env = clean_env(PYTHONPATH=str(kedro_mlflow_path), MLFLOW_TRACKING_URI=project.store_uri)
    result = project.run(env=env)

    output = result.stdout + result.stderr
    assert "Mlflow run" in output and "has started" in output  # kedro-mlflow really ran its hooks
    [run] = all_runs(project)
    assert run.info.status == "FINISHED"  # ended by kedro-mlflow, its owner
    assert "kedro_command" in run.data.tags  # kedro-mlflow's tag …
    assert run.data.tags["kedro.pipeline"] == "__default__"  # … and the plugin's, on the same run
    assert run.data.metrics["summary_report.accuracy"] > 0.9
    names = {item.path for item in project.client().list_artifacts(run.info.run_id)}
    assert EXPECTED_FILES | {"model"} <= names
    assert f"kedro-mlflow's run {run.info.run_id}" in output
