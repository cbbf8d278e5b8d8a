"""The plan as the pipeline job azure-ai-ml would send, read back from its YAML (nothing is sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kedro.pipeline import node, pipeline

from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.pipeline_jobs.build import PipelineSettings, pipeline_job
from kedro_azureml_mlflow.pipeline_jobs.plan import plan_pipeline
from kedro_azureml_mlflow.settings.config import SubmitConfig


def _f(*args: object) -> int:
    return 1


def built(tmp_path: Path, force_rerun: bool = False) -> dict[str, Any]:
    p = pipeline(
        [
            node(_f, ["raw", "params:model.C"], "prep_table", name="prep", tags=["step.prep"]),
            node(_f, ["prep_table", "params:layers"], "model", name="Train", tags=["step.Train", "gpu", "keep"]),
        ]
    )
    catalog = {
        "{name}_table": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "model": {"type": "pickle.PickleDataset", "filepath": "data/model.pkl"},
    }
    submit = SubmitConfig(compute_by_tag={"gpu": {"compute": "gpu-cluster", "instance_count": 2}}, reuse_tags=["keep"])
    plan = plan_pipeline(p, "tag", tmp_path, catalog, {"model": {"C": 0.5}, "layers": [8, 4]}, submit)
    (tmp_path / "code").mkdir()
    settings = PipelineSettings(
        code_dir=tmp_path / "code",
        environment="azureml:kedro-env:3",
        wrap_command=lambda command: f"install-wheels && {command}",
        options=JobOptions(compute="cpu-cluster", tags={"team": "a"}, environment_variables={"X": "1"}),
        experiment="exp",
        force_rerun=force_rerun,
        continue_on_step_failure=False,
    )
    pipeline_job(plan, RunArguments(env="base"), settings).dump(tmp_path / "job.yaml")
    loaded: dict[str, Any] = yaml.safe_load((tmp_path / "job.yaml").read_text())
    return loaded


def test_steps_are_wired_by_their_data_folders_and_params_are_pipeline_inputs(tmp_path: Path) -> None:
    job = built(tmp_path)
    assert job["inputs"] == {"p_model_c": 0.5, "p_layers": "[8, 4]"}
    assert set(job["jobs"]) == {"prep", "train"}
    train = job["jobs"]["train"]
    assert train["inputs"]["from_prep"]["path"] == "${{parent.jobs.prep.outputs.data}}"
    assert train["inputs"]["p_layers"]["path"] == "${{parent.inputs.p_layers}}"
    assert train["component"]["inputs"]["p_layers"]["type"] == "string"
    assert train["component"]["command"].startswith("install-wheels && python -m kedro_azureml_mlflow")
    assert "${{inputs.from_prep}}" in train["component"]["command"]
    # train writes a local-path dataset no later step reads: its folder is a pipeline output; prep's is read by train.
    assert set(job["outputs"]) == {"train_data"}
    assert job["tags"]["kedro.step.train"] == "Train" and job["tags"]["team"] == "a"


def test_reuse_is_off_unless_opted_in_and_settings_are_always_sent(tmp_path: Path) -> None:
    job = built(tmp_path, force_rerun=True)
    assert job["jobs"]["prep"]["component"]["is_deterministic"] is False
    assert job["jobs"]["train"]["component"]["is_deterministic"] is True
    assert job["settings"]["continue_on_step_failure"] is False
    assert job["settings"]["force_rerun"] is True
    assert job["settings"]["default_compute"] == "azureml:cpu-cluster"
    train = job["jobs"]["train"]
    assert train["compute"] == "azureml:gpu-cluster"
    assert train["resources"]["instance_count"] == 2
    assert "compute" not in job["jobs"]["prep"]
    assert train["environment_variables"] == {"X": "1"}
