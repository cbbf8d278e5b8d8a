"""An Azure ML job as MLflow's ``SubmittedRun``: ``wait``/``get_status``/``cancel`` act on the job.

On Azure ML the job's name is its MLflow run id, so ``run_id`` is the job name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from mlflow.entities import RunStatus
from mlflow.projects.submitted_run import SubmittedRun

from kedro_azureml_mlflow.azure_client import AzureWorkspace
from kedro_azureml_mlflow.errors import PluginError

TERMINAL = frozenset({"Completed", "Failed", "Canceled"})
_TO_MLFLOW = {
    "Completed": RunStatus.FINISHED,
    "Failed": RunStatus.FAILED,
    "Canceled": RunStatus.KILLED,
    "CancelRequested": RunStatus.RUNNING,
    "Running": RunStatus.RUNNING,
    "Finalizing": RunStatus.RUNNING,
}


class AzureMLSubmittedRun(SubmittedRun):
    """A submitted command job, followed by polling (and log streaming when asked)."""

    def __init__(
        self, workspace: AzureWorkspace, job_name: str, stream: bool = True, max_poll_seconds: float = 5.0
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.job_name = job_name
        self.stream = stream
        self.max_poll_seconds = max_poll_seconds

    @property
    def run_id(self) -> str:
        return self.job_name

    def job_status(self) -> str:
        """Azure ML's own status name (``Queued``, ``Running``, ``Completed``…)."""
        with self.workspace.errors(f"getting job '{self.job_name}'"):
            status = self.workspace.ml_client.jobs.get(self.job_name).status
        return str(getattr(status, "value", status))  # the SDK's JobStatus enum, or a plain string

    def get_status(self) -> str:
        return str(RunStatus.to_string(_TO_MLFLOW.get(self.job_status(), RunStatus.SCHEDULED)))

    def wait(self) -> bool:
        """Stream the job's log (when asked) until it ends; True only when it completed."""
        if self.stream:
            self.stream_logs()
        return self.wait_for_end() == "Completed"

    def stream_logs(self) -> None:
        """Print the job's log as it is written; a failed job is reported by its status, not here."""
        from azure.ai.ml.exceptions import JobException

        with self.workspace.errors(f"streaming the log of job '{self.job_name}'"):
            try:
                self.workspace.ml_client.jobs.stream(self.job_name)
            except JobException as exc:
                # The SDK turns Ctrl-C into a JobException; callers must still see the interrupt.
                if isinstance(exc.__cause__, KeyboardInterrupt):
                    raise KeyboardInterrupt from None

    def print_logs(self) -> None:
        """Print the job's log: followed while the job runs, fetched whole once it has ended."""
        if self.job_status() not in TERMINAL:
            self.stream_logs()
            return
        for name, text in self.logs().items():
            click.echo(f"── {name}")
            click.echo(text)

    def logs(self) -> dict[str, str]:
        """The job's user logs (all its logs when it has none), by name."""
        import requests

        files = self._run_details().log_files or {}
        user_logs = {name: url for name, url in files.items() if name.startswith("user_logs/")}
        texts = {}
        for name, url in sorted((user_logs or files).items()):
            try:
                response = requests.get(url, timeout=60)
                response.raise_for_status()
            except requests.RequestException as exc:
                raise PluginError(f"Could not download {name} of job '{self.job_name}': {exc}") from None
            texts[name] = response.text
        return texts

    def wait_for_end(self, on_status: Callable[[str], None] | None = None) -> str:
        """Poll until the job is Completed, Failed or Canceled; report each new status."""
        delay, last = 0.2, None
        while True:
            status = self.job_status()
            if status != last and on_status is not None:
                on_status(status)
            last = status
            if status in TERMINAL:
                return status
            time.sleep(delay)
            delay = min(delay * 2, self.max_poll_seconds)

    def cancel(self) -> None:
        """Cancel the job and wait until Azure ML says it ended."""
        with self.workspace.errors(f"cancelling job '{self.job_name}'"):
            self.workspace.ml_client.jobs.begin_cancel(self.job_name).result()
        self.wait_for_end()

    def failure_reason(self) -> str | None:
        """The error Azure ML recorded for a failed job (run history holds it, not the job)."""
        error = getattr(self._run_details(), "error", None)
        inner = getattr(error, "error", None)
        return getattr(inner, "message", None) or (str(error) if error else None)

    def _run_details(self) -> Any:
        """Run history's view of the job: status, error and log file URLs (the SDK has no public call)."""
        with self.workspace.errors(f"getting the details of job '{self.job_name}'"):
            return self.workspace.ml_client.jobs._runs_operations.get_run_details(self.job_name)
