"""One submission's pipeline job, decided before anything is packaged or sent: its steps, what
crosses each edge, the parameters each step reads, where each runs, which may be reused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.pipeline_jobs.compute import step_compute
from kedro_azureml_mlflow.pipeline_jobs.data_routes import Route, data_routes
from kedro_azureml_mlflow.pipeline_jobs.grouping import SplitBy, group_nodes
from kedro_azureml_mlflow.pipeline_jobs.naming import safe_names
from kedro_azureml_mlflow.pipeline_jobs.params import ParamInput, keys_read, param_inputs
from kedro_azureml_mlflow.pipeline_jobs.step_inputs import check_value
from kedro_azureml_mlflow.settings.config import StepComputeConfig, SubmitConfig

DATA_OUTPUT = "data"
INPUT_FROM = "from_"


@dataclass(frozen=True)
class StepPlan:
    """One step: its Kedro group, Azure ML name, nodes, upstream steps, data, params, compute."""

    group: str
    name: str
    nodes: tuple[str, ...]
    after: tuple[str, ...]  # Azure ML names of the steps it reads from
    reads: tuple[Route, ...]
    writes: tuple[Route, ...]
    params: tuple[ParamInput, ...]
    compute: StepComputeConfig | None  # None: the pipeline's default compute
    reuse: bool

    def input_for(self, producer: str) -> str:
        return INPUT_FROM + producer

    @property
    def keeps_outputs(self) -> bool:
        """It writes a local-path dataset no other step reads: its data folder is a pipeline output."""
        return any(not route.consumers and route.kind == "file" for route in self.writes)


@dataclass(frozen=True)
class PipelinePlan:
    split_by: SplitBy
    steps: tuple[StepPlan, ...]
    params: tuple[ParamInput, ...]

    def mapping_tags(self) -> dict[str, str]:
        """Azure ML names back to Kedro's, kept as the pipeline job's tags."""
        tags = {f"kedro.step.{step.name}": step.group for step in self.steps}
        tags.update({f"kedro.param.{param.input_name}": param.key for param in self.params})
        return tags


def plan_pipeline(
    pipeline: Any,
    split_by: SplitBy,
    project_path: Path,
    catalog: Mapping[str, Any],
    parameters: Mapping[str, Any],
    submit: SubmitConfig,
) -> PipelinePlan:
    """Group, route, name and place every step; any problem is a PluginError before packaging."""
    groups = group_nodes(pipeline, split_by)
    names = safe_names(group.name for group in groups)
    routes = [
        replace(route, producer=names[route.producer], consumers=tuple(names[c] for c in route.consumers))
        for route in data_routes(project_path, catalog, pipeline, groups)
    ]
    by_node = {node.name: node for node in pipeline.nodes}
    inputs_of = {g.name: [i for n in g.nodes for i in by_node[n].inputs] for g in groups}
    params = param_inputs([key for g in groups for key in keys_read(inputs_of[g.name], parameters)], parameters)
    for param in params.values():
        check_value(param.key, param.value)
    reuse_tags = set(submit.reuse_tags)
    steps = []
    for group in groups:
        tags = {node: frozenset(by_node[node].tags) for node in group.nodes}
        step_keys = keys_read(inputs_of[group.name], parameters)
        steps.append(
            StepPlan(
                group=group.name,
                name=names[group.name],
                nodes=group.nodes,
                after=tuple(names[g] for g in group.after),
                reads=tuple(r for r in routes if names[group.name] in r.consumers),
                writes=tuple(r for r in routes if r.producer == names[group.name]),
                params=tuple(params[key] for key in step_keys if key in params),
                compute=step_compute(names[group.name], tags, submit.compute_by_tag),
                reuse=any(tags[node] & reuse_tags for node in group.nodes),
            )
        )
    return PipelinePlan(split_by, tuple(steps), tuple(params.values()))
