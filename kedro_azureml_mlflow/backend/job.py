"""Create one Azure ML command job from a staged project, after checking what it needs exists.

Checks run before anything is uploaded: a typo in a compute or environment name costs one
request, not a snapshot upload.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.backend.options import JobOptions
from kedro_azureml_mlflow.core.errors import PluginError


@dataclass(frozen=True)
class JobRequest:
    """Everything one command job is made of."""

    code_dir: Path
    command: str
    environment: Any
    options: JobOptions
    experiment_name: str


def check_compute(workspace: AzureWorkspace, name: str) -> None:
    """Fail with the closest existing compute names when ``name`` is not in the workspace."""
    from azure.core.exceptions import ResourceNotFoundError

    with workspace.errors(f"looking up compute '{name}'"):
        try:
            workspace.ml_client.compute.get(name)
            return
        except ResourceNotFoundError:
            known = [c.name for c in workspace.ml_client.compute.list()]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known)) or '(none)'}"
    raise PluginError(f"compute '{name}' not found in {workspace.ref.describe()}; {hint}")


def check_environment(workspace: AzureWorkspace, environment_id: str) -> None:
    """Fail when a registered environment (``azureml:name:version`` / ``@label``) does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    ref = environment_id.removeprefix("azureml:")
    name, _, version = ref.partition(":")
    label = None
    if "@" in name:
        name, _, label = name.partition("@")
    with workspace.errors(f"looking up environment '{environment_id}'"):
        try:
            workspace.ml_client.environments.get(name, version=version or None, label=label)
        except ResourceNotFoundError:
            raise PluginError(
                f"environment '{environment_id}' not found in {workspace.ref.describe()}; "
                "expected azureml:<name>:<version> of a registered environment (az ml environment list)"
            ) from None


def create_job(workspace: AzureWorkspace, request: JobRequest) -> Any:
    """Upload the snapshot and create the job; returns the SDK's job (name, status, studio_url)."""
    job = command_job(request)
    with workspace.errors("creating the job"):
        return workspace.ml_client.jobs.create_or_update(job)


def command_job(request: JobRequest, *, is_deterministic: bool = True) -> Any:
    """The SDK's command job for ``request``, not yet sent (a schedule's step is one, never reused)."""
    from azure.ai.ml import command

    options = request.options
    return command(
        code=str(request.code_dir),
        command=request.command,
        environment=request.environment,
        compute=options.compute,
        experiment_name=request.experiment_name,
        display_name=options.display_name,
        tags=dict(options.tags),
        environment_variables=dict(options.environment_variables),
        instance_count=options.instance_count,
        distribution=options.distribution_spec(),
        is_deterministic=is_deterministic,
    )
