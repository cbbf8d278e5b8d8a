"""The plan as an azure-ai-ml pipeline job: one command component per step, on the one code
snapshot and environment ``submit`` builds today, wired by ``dsl.pipeline``.

- Parameters are the pipeline's literal inputs (the function's keyword arguments, built from the
  plan), so a Studio resubmit can change them.
- Each step's ``data`` folder feeds the steps that read from it; a step that keeps outputs binds
  its folder to a pipeline output ``<step>_data`` (kept in the datastore for ``download``).
- ``is_deterministic`` is False unless the step opted into reuse (azure-ai-ml defaults it to True,
  and a reused step silently skips a step that reads live data); ``continue_on_step_failure`` is
  always sent, False unless asked (the service assumes True when it is absent).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.pipeline_jobs.params import ParamInput
from kedro_azureml_mlflow.pipeline_jobs.plan import DATA_OUTPUT, PipelinePlan, StepPlan
from kedro_azureml_mlflow.pipeline_jobs.step_command import step_command

NODES_TAG_LIMIT = 5000
PIPELINE_OUTPUT_SUFFIX = "_" + DATA_OUTPUT


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline job is sent with besides its steps."""

    code_dir: Path
    environment: Any  # an azure.ai.ml Environment or a registered environment's id
    wrap_command: Callable[[str], str]  # adds the shipped wheels' install before a step's command
    options: JobOptions
    experiment: str
    force_rerun: bool
    continue_on_step_failure: bool


def pipeline_job(plan: PipelinePlan, run: RunArguments, settings: PipelineSettings) -> Any:
    """The ``PipelineJob`` azure-ai-ml sends (nothing is sent here)."""
    from azure.ai.ml import dsl

    components = {step.name: _component(step, run, settings) for step in plan.steps}

    def body(**params: Any) -> dict[str, Any]:
        nodes: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        for step in plan.steps:
            bindings = {step.input_for(up): nodes[up].outputs[DATA_OUTPUT] for up in step.after}
            bindings.update({p.input_name: params[p.input_name] for p in step.params})
            node = components[step.name](**bindings)
            _place(node, step, settings.options)
            nodes[step.name] = node
            if step.keeps_outputs:
                outputs[step.name + PIPELINE_OUTPUT_SUFFIX] = node.outputs[DATA_OUTPUT]
        return outputs

    # dsl reads the pipeline's inputs from the signature (types from the defaults), and refuses annotations it
    # cannot map to an input type.
    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p.input_name, inspect.Parameter.KEYWORD_ONLY, default=p.value) for p in plan.params]
    )
    body.__annotations__ = {}
    build = dsl.pipeline(
        body,
        name=run.pipeline.strip("_") or "kedro_pipeline",
        display_name=settings.options.display_name,
        default_compute=settings.options.compute,
        continue_on_step_failure=settings.continue_on_step_failure,
        force_rerun=settings.force_rerun,
    )
    job = build()
    job.experiment_name = settings.experiment
    job.tags = {**settings.options.tags, **plan.mapping_tags(), "kedro.split_by": plan.split_by}
    return job


def _component(step: StepPlan, run: RunArguments, settings: PipelineSettings) -> Any:
    from azure.ai.ml import Input, Output, command

    inputs = {step.input_for(up): Input(type="uri_folder") for up in step.after}
    inputs.update({p.input_name: Input(type=_input_type(p)) for p in step.params})
    return command(
        name=step.name,
        display_name=step.group,
        code=str(settings.code_dir),
        command=settings.wrap_command(step_command(step, run)),
        environment=settings.environment,
        inputs=inputs,
        outputs={DATA_OUTPUT: Output(type="uri_folder")},
        is_deterministic=step.reuse,
        tags={"kedro.step": step.group, "kedro.nodes": ",".join(step.nodes)[:NODES_TAG_LIMIT]},
    ).component


def _place(node: Any, step: StepPlan, options: JobOptions) -> None:
    """The step's own compute (compute_by_tag) and the job's environment variables."""
    from azure.ai.ml.entities import JobResourceConfiguration

    node.name = step.name
    node.display_name = step.group  # Studio shows Kedro's own name; the node's name is the sanitised one
    node.environment_variables = dict(options.environment_variables)
    if step.compute is None:
        return
    node.compute = step.compute.compute
    node.resources = JobResourceConfiguration(instance_count=step.compute.instance_count)
    if step.compute.distribution:
        node.distribution = {"type": step.compute.distribution}


def _input_type(param: ParamInput) -> str:
    return "string" if param.type == "json" else param.type
