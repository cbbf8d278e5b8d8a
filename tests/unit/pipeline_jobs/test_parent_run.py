"""What the submitter logs to a pipeline job's run: the flattened parameters (secrets redacted) and Kedro's
run tags, as a single job's Kedro session logs them to its run."""

from __future__ import annotations

from pathlib import Path

from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.core.redaction import REDACTED
from kedro_azureml_mlflow.pipeline_jobs.parent_run import parent_batch
from kedro_azureml_mlflow.settings.config import TrackingConfig

PARAMETERS = {"model": {"C": 1.5, "layers": [8, 4]}, "db": {"password": "hunter2"}, "seed": 3}


def test_the_parameters_are_flattened_with_secrets_redacted_and_the_run_tags_say_what_ran(tmp_path: Path) -> None:
    run = RunArguments(pipeline="training", env="cloud", tags="gpu,slow")
    batch = parent_batch(PARAMETERS, TrackingConfig(), run, tmp_path)
    assert dict(batch.params) == {"model.C": "1.5", "model.layers": "[8, 4]", "db.password": REDACTED, "seed": "3"}
    tags = dict(batch.tags)
    assert (tags["kedro.pipeline"], tags["kedro.env"], tags["kedro.node_tags"]) == ("training", "cloud", "gpu,slow")
    assert "hunter2" not in repr(batch)


def test_no_params_when_tracking_params_log_is_off(tmp_path: Path) -> None:
    tracking = TrackingConfig.model_validate({"params": {"log": False}})
    batch = parent_batch(PARAMETERS, tracking, RunArguments(env="base"), tmp_path)
    assert batch.params == [] and dict(batch.tags)["kedro.pipeline"] == "__default__"
