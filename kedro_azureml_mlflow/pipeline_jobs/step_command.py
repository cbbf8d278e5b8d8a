"""The command a step runs: ``python -m kedro_azureml_mlflow.pipeline_jobs.step_main`` with what
it needs to run its nodes as ``kedro run`` would.

What is fixed at submit time (pipeline, env, nodes, data routes, parameter types) is one JSON
argument; what Azure ML fills in (input and output folders, parameter values) are ``${{…}}``
placeholders it substitutes into the command text: the output folder as an argument, the inputs in a
here-document on the step's standard input (:mod:`step_inputs`).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.pipeline_jobs.plan import DATA_OUTPUT, StepPlan
from kedro_azureml_mlflow.pipeline_jobs.step_inputs import here_document

STEP_MODULE = "kedro_azureml_mlflow.pipeline_jobs.step_main"


def step_spec(step: StepPlan, run: RunArguments) -> dict[str, Any]:
    """The step's fixed part, as ``step_main`` reads it back."""
    return {
        "step": step.group,
        "pipeline": run.pipeline,
        "env": run.env,
        "runner": run.runner,
        "nodes": list(step.nodes),
        "reads": [[r.dataset, r.kind, r.relative_path, step.input_for(r.producer)] for r in step.reads if r.moved],
        "writes": [[r.dataset, r.kind, r.relative_path] for r in step.writes if r.moved],
        "params": [[p.key, p.type, p.input_name] for p in step.params],
    }


def step_command(step: StepPlan, run: RunArguments) -> str:
    """``python -m …step_main --spec '<json>' --output '${{outputs.data}}'``, the inputs' values on its
    standard input (:mod:`step_inputs`: Azure ML pastes them into the text, so no shell quoting holds them)."""
    inputs = [step.input_for(producer) for producer in step.after] + [p.input_name for p in step.params]
    parts = ["python", "-m", STEP_MODULE, "--spec", shlex.quote(json.dumps(step_spec(step, run), sort_keys=True))]
    parts += ["--output", f"'${{{{outputs.{DATA_OUTPUT}}}}}'"]
    if inputs:
        parts.append(here_document(inputs))
    return " ".join(parts)
