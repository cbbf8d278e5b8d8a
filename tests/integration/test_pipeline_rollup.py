"""A step's metrics rolled up to the pipeline's run, against a real SQLite MLflow store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from kedro_azureml_mlflow.pipeline_jobs.rollup import roll_up


def test_a_key_the_parent_already_holds_is_kept_as_step_dot_key_and_said_so(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("pipeline")
    parent = client.create_run(experiment).info.run_id
    client.log_metric(parent, "loss", 0.5)  # rolled up by another step before
    roll_up(client, {"loss": 0.25, "accuracy": 0.9}, parent, "train")
    run = client.get_run(parent)
    assert run.data.metrics == {"loss": 0.5, "train.loss": 0.25, "accuracy": 0.9}
    assert run.data.tags["kedro.rollup.loss"] == "logged by more than one step; train's is train.loss"
