"""The azureml-v2 backend without a compute runs the project here, through MLflow's local backend."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PLAIN_PROJECT = {
    "MLproject": """
        name: plain
        python_env: python_env.yaml
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.1}
            command: "python train.py --alpha {alpha}"
    """,
    "python_env.yaml": """
        python: "3.11"
        build_dependencies: [pip]
        dependencies: [mlflow]
    """,
    "train.py": """
        import argparse
        import mlflow

        parser = argparse.ArgumentParser()
        parser.add_argument("--alpha", type=float)
        alpha = parser.parse_args().alpha
        with mlflow.start_run():  # resumes MLFLOW_RUN_ID, which the backend injects
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("rmse", 1.0 - alpha)
    """,
}


def write_plain_project(folder: Path) -> Path:
    """A minimal MLflow Project that is not a Kedro project."""
    for name, text in PLAIN_PROJECT.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(
    "config", [{"USE_CONDA": "false"}, {"COMPUTE": "local", "USE_CONDA": False}], ids=["no-compute", "local"]
)
def test_no_compute_runs_locally_in_this_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_tracking_uri: Any, config: dict[str, Any]
) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    project = write_plain_project(tmp_path)
    store = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    mlflow_tracking_uri(store)
    submitted = mlflow.projects.run(
        uri=str(project), parameters={"alpha": 0.4}, backend="azureml-v2", backend_config=config
    )

    run = MlflowClient(store).get_run(submitted.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["alpha"] == "0.4" and run.data.metrics["rmse"] == pytest.approx(0.6)
    assert "mlflow.project.env" not in run.data.tags  # USE_CONDA false: neither conda nor a virtualenv was made
    assert run.data.tags["mlflow.project.backend"] == "azureml-v2"
