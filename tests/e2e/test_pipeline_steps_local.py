"""Pipeline-job steps run here, one after another, exactly as their commands say: data crosses
steps through their folders with no catalog edits, and the outputs equal a plain ``kedro run``'s.

No Azure ML here: each step's ``${{inputs.*}}`` / ``${{outputs.data}}`` are replaced by local
folders, as Azure ML replaces them by mounted ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.pipeline_jobs.plan import PipelinePlan, plan_pipeline
from kedro_azureml_mlflow.pipeline_jobs.step_command import step_command
from kedro_azureml_mlflow.settings.config import SubmitConfig
from tests.kedro_project import KedroProject, clean_env
from tests.pipeline_project import CATALOG, PARAMETERS, REGISTRY, assert_same_model_outputs

PLACEHOLDER = re.compile(r"\$\{\{(inputs|outputs)\.([a-z0-9_]+)\}\}")


def spaceflights_plan(
    project_path: Path, name: str = "__default__", parameters: dict[str, Any] | None = None
) -> PipelinePlan:
    namespace: dict[str, Any] = {}
    exec(compile(REGISTRY, "pipeline_registry.py", "exec"), namespace)
    pipeline = namespace["register_pipelines"]()[name]
    parameters = parameters or yaml.safe_load(PARAMETERS)
    return plan_pipeline(pipeline, "namespace", project_path, yaml.safe_load(CATALOG), parameters, SubmitConfig())


def run_steps(project: KedroProject, plan: PipelinePlan, folders: Path, pipeline: str = "__default__") -> None:
    """Each step's command in the project, its placeholders filled as Azure ML would fill them."""
    values = {p.input_name: str(p.value) for p in plan.params}
    for step in plan.steps:
        bindings = {step.input_for(up): str(folders / up) for up in step.after} | values

        def fill(match: re.Match[str], bindings: dict[str, str] = bindings, step_name: str = step.name) -> str:
            kind, name = match.groups()
            return str(folders / step_name) if kind == "outputs" else bindings[name]

        command = PLACEHOLDER.sub(fill, step_command(step, RunArguments(pipeline=pipeline, env="local")))
        env = clean_env(PATH=f"{Path(sys.executable).parent}:{clean_env()['PATH']}")
        result = subprocess.run(
            ["bash", "-c", command], cwd=project.path, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"step {step.name}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.mark.slow
def test_namespace_steps_run_in_order_and_match_a_local_run(spaceflights: KedroProject, tmp_path: Path) -> None:
    reference = KedroProject(Path(shutil.copytree(spaceflights.path, tmp_path / "reference")))
    reference.run()

    plan = spaceflights_plan(spaceflights.path)
    assert [s.name for s in plan.steps] == ["data_processing", "data_science"]
    crossing = {r.dataset: r.kind for r in plan.steps[1].reads}
    assert crossing == {
        "preprocessed_companies": "file",
        "preprocessed_shuttles": "memory",
        "model_input_table": "file",
    }
    folders = tmp_path / "azureml"
    run_steps(spaceflights, plan, folders)

    # Intermediates crossed through the producer's folder, in their own formats, re-rooted.
    produced = folders / "data_processing"
    pd.read_parquet(produced / "data/02_intermediate/preprocessed_companies.parquet")
    pd.read_csv(produced / "data/03_primary/model_input_table.csv")
    assert (produced / "memory/preprocessed_shuttles.pickle").is_file()
    # No step wrote into the project's own data folders: everything went to the step folders.
    assert not (spaceflights.path / "data/03_primary/model_input_table.csv").exists()
    assert not (spaceflights.path / "data/08_reporting/metrics.json").exists()

    science = folders / "data_science"
    assert_same_model_outputs(science, reference.path)
    pd.testing.assert_frame_equal(
        pd.read_csv(produced / "data/03_primary/model_input_table.csv"),
        pd.read_csv(reference.path / "data/03_primary/model_input_table.csv"),
    )


@pytest.mark.slow
def test_a_text_parameter_with_quotes_dollars_and_lines_reaches_its_step_as_it_is(
    spaceflights: KedroProject, tmp_path: Path
) -> None:
    label = "it's \"quoted\" $HOME `id` \\ back\\slash\nsecond line ''"
    parameters = {**yaml.safe_load(PARAMETERS), "label": label}
    spaceflights.write("conf/base/parameters.yml", yaml.safe_dump(parameters))
    plan = spaceflights_plan(spaceflights.path, "quoting", parameters)
    assert [(p.key, p.type) for p in plan.params] == [("label", "string")]
    folders = tmp_path / "azureml"
    run_steps(spaceflights, plan, folders, "quoting")
    assert (folders / "say/data/08_reporting/echoed.txt").read_text() == label
