"""What ``submit --split-by … --dry-run`` shows: the steps, their nodes and compute, what crosses
each edge and how, the parameters each step gets, and what is kept as the pipeline's outputs."""

from __future__ import annotations

from typing import Any

from kedro_azureml_mlflow.pipeline_jobs.data_routes import Route
from kedro_azureml_mlflow.pipeline_jobs.plan import PipelinePlan, StepPlan

HOW = {
    "file": "re-rooted file",
    "memory": "pickled (cloudpickle)",
    "remote": "not moved, only ordered",
}


def plan_lines(plan: PipelinePlan, default_compute: str | None) -> list[str]:
    """The step graph as plain lines (printed by the dry run, read by tests)."""
    lines = [f"Pipeline job: {len(plan.steps)} steps (split by {plan.split_by})"]
    for step in plan.steps:
        lines += _step_lines(step, default_compute)
    return lines


def _step_lines(step: StepPlan, default_compute: str | None) -> list[str]:
    compute = step.compute.compute if step.compute else f"{default_compute or '(no compute)'} (default)"
    shown = f"{step.name}" + (f" (Kedro: {step.group})" if step.name != step.group else "")
    lines = [
        f"step {shown}: compute {compute}; reuse {'allowed' if step.reuse else 'off'}",
        f"  nodes: {', '.join(step.nodes)}",
    ]
    if step.after:
        lines.append(f"  after: {', '.join(step.after)}")
    for route in step.reads:
        lines.append(f"  reads `{route.dataset}` from {route.producer}: {_how(route)}")
    kept = [route for route in step.writes if not route.consumers]
    if kept:
        lines.append(f"  keeps (pipeline output {step.name}_data): " + ", ".join(_kept(r) for r in kept))
    params = ", ".join(f"{p.input_name} = {p.key} ({p.type})" for p in step.params)
    lines.append(f"  params: {params or 'none'}")
    return lines


def _how(route: Route) -> str:
    return HOW[route.kind] + (f" {route.relative_path}" if route.kind == "file" else "")


def _kept(route: Route) -> str:
    return f"`{route.dataset}` ({route.relative_path})"


def show_plan(plan: PipelinePlan, default_compute: str | None, console: Any) -> None:
    for line in plan_lines(plan, default_compute):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
