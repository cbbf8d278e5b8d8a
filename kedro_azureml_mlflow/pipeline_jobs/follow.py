"""A pipeline job's steps for ``status`` and ``cancel`` (a table) and ``logs --step`` (which child job)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.core.errors import PluginError


def steps_of(workspace: AzureWorkspace, job: str) -> list[Any]:
    """The pipeline job's started steps (child jobs); empty for a command job."""
    with workspace.errors(f"listing the steps of job '{job}'"):
        return list(workspace.ml_client.jobs.list(parent_job_name=job))


def step_table(steps: list[Any], run_statuses: Mapping[str, str] | None = None) -> list[str]:
    """One line per started step: its name, status and child job (and its MLflow run's status, if given)."""
    width = max(len(str(step.display_name)) for step in steps)
    runs = run_statuses or {}
    return [
        f"  {step.display_name!s:<{width}}  {step.status:<10}  {step.name}{_run_column(runs, step.name)}"
        for step in steps
    ]


def _run_column(runs: Mapping[str, str], name: str) -> str:
    return f"  {runs[name]}" if name in runs else ""


def step_job(workspace: AzureWorkspace, job: str, step: str) -> str:
    """The child job of ``step`` (its Kedro or Azure ML name, as Studio shows it)."""
    steps = steps_of(workspace, job)
    for candidate in steps:
        if step in {candidate.display_name, candidate.name}:
            return str(candidate.name)
    known = ", ".join(sorted(str(s.display_name) for s in steps)) or "(none started)"
    raise PluginError(f"job '{job}' has no started step '{step}'; its steps: {known}")
