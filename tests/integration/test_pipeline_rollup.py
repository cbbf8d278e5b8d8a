"""A step's metrics (and a reused step's original's) rolled up to the pipeline's run, against a real SQLite
MLflow store."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from kedro_azureml_mlflow.pipeline_jobs.lineage import reused
from kedro_azureml_mlflow.pipeline_jobs.rollup import roll_up, roll_up_reused


def test_a_key_the_parent_already_holds_is_kept_as_step_dot_key_and_said_so(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("pipeline")
    parent = client.create_run(experiment).info.run_id
    client.log_metric(parent, "loss", 0.5)  # rolled up by another step before
    roll_up(client, {"loss": 0.25, "accuracy": 0.9}, parent, "train")
    run = client.get_run(parent)
    assert run.data.metrics == {"loss": 0.5, "train.loss": 0.25, "accuracy": 0.9}
    assert run.data.tags["kedro.rollup.loss"] == "logged by more than one step; train's is train.loss"


def test_a_reused_steps_original_metrics_are_rolled_up_once_in_its_name(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("pipeline")
    first_pipeline, this_pipeline = (client.create_run(experiment).info.run_id for _ in range(2))
    original = client.create_run(experiment).info.run_id  # the step as it ran in the first pipeline job
    client.log_metric(original, "rows", 20.0)
    ran_here = client.create_run(experiment).info.run_id
    client.log_metric(ran_here, "mae", 1.5)  # rolled up by that step itself, not again here
    lineage = {
        "prep": {"run": original, "root": first_pipeline},
        "train": {"run": ran_here, "root": this_pipeline},
    }
    assert reused(lineage, this_pipeline) == {"prep": original}

    for _ in range(2):  # two steps after the reused one: the second finds the tag and skips
        roll_up_reused(client, reused(lineage, this_pipeline), this_pipeline)
    run = client.get_run(this_pipeline)
    assert run.data.metrics == {"rows": 20.0}
    assert len(client.get_metric_history(this_pipeline, "rows")) == 1
    assert run.data.tags["kedro.rollup.reused.prep"] == original
