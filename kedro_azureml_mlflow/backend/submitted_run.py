"""An Azure ML job as MLflow's ``SubmittedRun``: ``wait``/``get_status``/``cancel`` act on the job.

On Azure ML the job's name is its MLflow run id, so ``run_id`` is the job name. Following a job is
always bounded (:class:`~kedro_azureml_mlflow.backend.job_states.WaitLimits`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click
from mlflow.projects.submitted_run import SubmittedRun

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.backend.job_logs import LogFollower, downloaded_logs, failure_reason
from kedro_azureml_mlflow.backend.job_states import (
    COMPLETED,
    UNKNOWN,
    WaitEnd,
    WaitLimits,
    mlflow_status,
    normalise,
    terminal_statuses,
)

# Azure's cancel operation sends no Retry-After, so the SDK would wait its default 30 s between polls.
CANCEL_POLL_SECONDS = 2


class AzureMLSubmittedRun(SubmittedRun):
    """A submitted command job, followed by polling (printing its log when ``stream``)."""

    def __init__(
        self, workspace: AzureWorkspace, job_name: str, stream: bool = True, limits: WaitLimits | None = None
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.job_name = job_name
        self.stream = stream
        self.limits = limits or WaitLimits()

    @property
    def run_id(self) -> str:
        return self.job_name

    def job_status(self) -> str:
        """Azure ML's own status name (``Queued``, ``Running``, ``Completed``…)."""
        with self.workspace.errors(f"getting job '{self.job_name}'"):
            status = self.workspace.ml_client.jobs.get(self.job_name).status
        return str(getattr(status, "value", status))  # the SDK's enum, or a plain string

    def get_status(self) -> str:
        return mlflow_status(self.job_status())

    def wait(self) -> bool:
        """Follow the job (printing its log when asked) until it ends; True only when it completed."""
        return self.follow().status == COMPLETED

    def follow(
        self, on_status: Callable[[str], None] | None = None, on_poll: Callable[[str], None] | None = None
    ) -> WaitEnd:
        """Poll until the job reaches a status the SDK treats as final, ``Unknown`` lasts too long, or the
        time limit passes; report each new status (``on_status``) and every poll's (``on_poll``: a pipeline
        job's steps are read then), and print new log lines at each poll when streaming."""
        follower = LogFollower(self.workspace.ml_client, self.job_name, click.echo) if self.stream else None
        started, unknown_since, delay, last = time.monotonic(), None, 0.2, None
        while True:
            status = normalise(self.job_status())
            if status != last and on_status is not None:
                on_status(status)
            if on_poll is not None:
                on_poll(status)
            last = status
            if follower is not None:
                with self.workspace.errors(f"reading the log of job '{self.job_name}'"):
                    follower.poll()
            now = time.monotonic()
            if status in terminal_statuses():
                return WaitEnd(self.job_name, status)
            unknown_since = (unknown_since or now) if status == UNKNOWN else None
            if unknown_since is not None and now - unknown_since >= self.limits.unknown_seconds:
                return WaitEnd(self.job_name, status, now - started)
            if now - started >= self.limits.timeout_seconds:
                return WaitEnd(self.job_name, status, now - started)
            time.sleep(delay)
            delay = min(delay * 2, self.limits.max_poll_seconds)

    def logs(self) -> dict[str, str]:
        """An ended job's user logs by name (``jobs.download``)."""
        with self.workspace.errors(f"downloading the logs of job '{self.job_name}'"):
            return downloaded_logs(self.workspace.ml_client, self.job_name)

    def print_logs(self) -> WaitEnd:
        """Print the job's log: fetched whole once it has ended, else followed until it ends."""
        status = self.job_status()
        if status not in terminal_statuses():
            return AzureMLSubmittedRun(self.workspace, self.job_name, True, self.limits).follow()
        for name, text in self.logs().items():
            click.echo(f"── {name}")
            click.echo(text)
        return WaitEnd(self.job_name, status)

    def cancel(self) -> WaitEnd:
        """Cancel the job and follow it (bounded) until Azure ML says it ended."""
        with self.workspace.errors(f"cancelling job '{self.job_name}'"):
            poller = self.workspace.ml_client.jobs.begin_cancel(self.job_name, polling_interval=CANCEL_POLL_SECONDS)
            poller.result(timeout=self.limits.timeout_seconds)
        return AzureMLSubmittedRun(self.workspace, self.job_name, False, self.limits).follow()

    def failure_reason(self) -> str | None:
        """The error Azure ML recorded for an ended job (from ``jobs.stream``'s ``JobException``)."""
        with self.workspace.errors(f"getting why job '{self.job_name}' failed"):
            return failure_reason(self.workspace.ml_client, self.job_name)

    def ending(self, end: WaitEnd) -> str:
        """The user's one line about a job that ended without completing, with the failure reason if any."""
        reason = self.failure_reason() if end.status == "Failed" else None
        return end.unsuccessful(reason)
