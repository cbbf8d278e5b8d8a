"""Schedule operations against a workspace, each one Azure ML call (or LRO) waited for, failures as one line.

Create, update, disable, enable and delete are long-running operations on Azure ML: they are waited for
here, so that the command's answer is the operation's end. Azure refuses to delete an enabled schedule
("Cannot delete an active trigger"): :func:`delete` disables it first and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.schedules.cron import Every
from kedro_azureml_mlflow.schedules.definition import When

JOB_APPEARS_TIMEOUT_SECONDS = 120.0
LIST_VIEWS = {"enabled": "EnabledOnly", "disabled": "DisabledOnly", "all": "All"}


@dataclass(frozen=True)
class ScheduleSummary:
    """What ``list`` and ``show`` print of a schedule."""

    name: str
    enabled: bool
    trigger: str
    provisioning_state: str
    job_name: str | None  # the display name of the job it creates
    experiment: str | None


def summary(schedule: Any) -> ScheduleSummary:
    trigger = schedule.trigger
    expression = getattr(trigger, "expression", None)
    zone = _text(trigger.time_zone)
    when = When(time_zone=zone, cron=expression) if expression else None
    when = when or When(time_zone=zone, every=Every(trigger.interval, _text(trigger.frequency)))
    job = getattr(schedule, "create_job", None)
    return ScheduleSummary(
        name=schedule.name,
        enabled=bool(schedule.is_enabled),
        trigger=when.describe(),
        provisioning_state=_text(schedule.provisioning_state),
        job_name=getattr(job, "display_name", None),
        experiment=getattr(job, "experiment_name", None),
    )


def _text(value: Any) -> str:
    """The SDK gives some fields as its enums, some as text."""
    return str(getattr(value, "value", value))


def _wait(workspace: AzureWorkspace, doing: str, start: Callable[[], Any]) -> Any:
    """Start an LRO and wait for its end; its failure is one line (the service's message)."""
    with workspace.errors(doing):
        return start().result()


def create(workspace: AzureWorkspace, schedule: Any) -> Any:
    """Create (or replace) the schedule, uploading the step's code; returns it once provisioned."""
    ops = workspace.ml_client.schedules
    return _wait(workspace, f"creating schedule '{schedule.name}'", lambda: ops.begin_create_or_update(schedule))


def get(workspace: AzureWorkspace, name: str) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    with workspace.errors(f"reading schedule '{name}'"):
        try:
            return workspace.ml_client.schedules.get(name)
        except ResourceNotFoundError:
            raise PluginError(
                f"schedule '{name}' not found in {workspace.ref.describe()}; see kedro azureml schedule list"
            ) from None


def list_schedules(workspace: AzureWorkspace, view: str) -> list[Any]:
    with workspace.errors("listing schedules"):
        return list(workspace.ml_client.schedules.list(list_view_type=LIST_VIEWS[view]))


def set_enabled(workspace: AzureWorkspace, name: str, enabled: bool) -> Any:
    """Enable or disable (a full update of the schedule, an LRO on Azure ML)."""
    get(workspace, name)  # a missing schedule: one clear line
    ops = workspace.ml_client.schedules
    if enabled:
        return _wait(workspace, f"enabling schedule '{name}'", lambda: ops.begin_enable(name))
    return _wait(workspace, f"disabling schedule '{name}'", lambda: ops.begin_disable(name))


def delete(workspace: AzureWorkspace, name: str, say: Callable[[str], None]) -> None:
    """Delete the schedule, disabling it first when it is enabled (Azure refuses to delete an active one)."""
    if get(workspace, name).is_enabled:
        say(f"Schedule '{name}' is enabled: disabling it first (Azure ML does not delete an active schedule)")
        set_enabled(workspace, name, False)
    ops = workspace.ml_client.schedules
    _wait(workspace, f"deleting schedule '{name}'", lambda: ops.begin_delete(name))


def trigger(workspace: AzureWorkspace, name: str, timeout: float = JOB_APPEARS_TIMEOUT_SECONDS) -> str:
    """Run the schedule's job now; returns the job's name once the workspace lists it."""
    from azure.core.exceptions import ResourceNotFoundError

    get(workspace, name)
    with workspace.errors(f"triggering schedule '{name}'"):
        job_name = str(workspace.ml_client.schedules.trigger(name).job_name)
    deadline = time.monotonic() + timeout
    with workspace.errors(f"reading job {job_name} of schedule '{name}'"):
        while True:
            try:
                workspace.ml_client.jobs.get(job_name)
                return job_name
            except ResourceNotFoundError:
                if time.monotonic() > deadline:
                    raise PluginError(
                        f"schedule '{name}' was triggered (submission {job_name}) but its job did not appear "
                        f"in {timeout:.0f} s; see kedro azureml status {job_name}"
                    ) from None
                time.sleep(1.0)
