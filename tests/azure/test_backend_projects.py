"""The azureml-v2 backend on the three layouts of MLflow's own ``sklearn_elasticnet_wine`` example
(recreated small here: conda, python_env, docker), against the Azure ML double."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.azureml_double import AzureMLDouble

pytestmark = [pytest.mark.azure, pytest.mark.slow]

TRAIN = """
    import sys
    import mlflow
    from sklearn.linear_model import ElasticNet

    alpha, l1_ratio = float(sys.argv[1]), float(sys.argv[2])
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, y)
    with mlflow.start_run():
        mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
        mlflow.log_metric("r2", model.score(X, y))
"""
CONDA = """
    name: tutorial
    channels: [conda-forge]
    dependencies:
      - python=3.11
      - numpy
      - pip
      - pip:
          - scikit-learn
          - mlflow>=1.0
"""


def wine_project(folder: Path, env_line: str, files: dict[str, str]) -> Path:
    mlproject = f"""
        name: tutorial
        {env_line}
        entry_points:
          main:
            parameters:
              alpha: {{type: float, default: 0.5}}
              l1_ratio: {{type: float, default: 0.1}}
            command: "python train.py {{alpha}} {{l1_ratio}}"
    """
    for name, text in {"MLproject": mlproject, "train.py": TRAIN, **files}.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


def run_project(
    folder: Path, double: AzureMLDouble, monkeypatch: pytest.MonkeyPatch, tracking_uri: Callable[[str], None]
) -> Any:
    """``mlflow.projects.run`` on the double, in an experiment of its own (the double's store is the session's)."""
    import mlflow

    monkeypatch.chdir(folder)
    tracking_uri(double.tracking_uri)
    config = {"COMPUTE": "cpu-cluster", "EXPERIMENT_NAME": "wine-layouts"}
    run_project_: Any = mlflow.projects.run  # untyped in MLflow
    return run_project_(uri=".", backend="azureml-v2", backend_config=config)


def environment_of(double: AzureMLDouble, job_name: str) -> dict[str, Any]:
    env = double.ml_client().environments.get(*double.job_info(job_name)["environment_id"].split("/")[-3::2])
    return {"image": env.image, "conda": env.conda_file}


def test_conda_only_project_runs_with_its_own_conda_file(
    tmp_path: Path,
    azureml_double: AzureMLDouble,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_tracking_uri: Callable[[str], None],
) -> None:
    project = wine_project(tmp_path, "conda_env: conda.yaml", {"conda.yaml": CONDA})

    submitted = run_project(project, azureml_double, monkeypatch, mlflow_tracking_uri)

    assert submitted.get_status() == "FINISHED"
    env = environment_of(azureml_double, submitted.run_id)
    project_conda = yaml.safe_load(textwrap.dedent(CONDA))
    assert env["conda"]["channels"] == project_conda["channels"]
    assert env["conda"]["dependencies"][:3] == ["python=3.11", "numpy", "pip"]
    assert env["conda"]["dependencies"][3]["pip"] == ["scikit-learn", "mlflow>=1.0", "azureml-mlflow"]
    assert azureml_double.job_info(submitted.run_id)["python_bin"], "the job ran on its conda file's interpreter"
    from mlflow.tracking import MlflowClient

    run = MlflowClient(azureml_double.mlflow_url).get_run(submitted.run_id)
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.1"} and "r2" in run.data.metrics


def test_docker_project_runs_on_its_image(
    tmp_path: Path,
    azureml_double: AzureMLDouble,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_tracking_uri: Callable[[str], None],
) -> None:
    project = wine_project(tmp_path, "docker_env:\n          image: myregistry.azurecr.io/wine:1", {})

    submitted = run_project(project, azureml_double, monkeypatch, mlflow_tracking_uri)

    assert submitted.get_status() == "FINISHED"
    assert environment_of(azureml_double, submitted.run_id) == {"image": "myregistry.azurecr.io/wine:1", "conda": None}


def test_project_without_environment_spec_is_refused_before_upload(
    tmp_path: Path,
    azureml_double: AzureMLDouble,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_tracking_uri: Callable[[str], None],
) -> None:
    from kedro_azureml_mlflow.core.errors import PluginError

    since = azureml_double.last_seq()
    with pytest.raises(PluginError, match="no environment to run in; set one of: conda_env or python_env"):
        run_project(wine_project(tmp_path, "", {}), azureml_double, monkeypatch, mlflow_tracking_uri)
    assert not azureml_double.requests(since, path_contains="startPendingUpload")
