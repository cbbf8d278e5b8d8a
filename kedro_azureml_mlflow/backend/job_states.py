"""Azure ML job statuses: which end a wait, what MLflow calls them, and how a wait ends for the user.

Meanings are Azure ML's (the ``JobStatus`` enum of its REST API): ``NotResponding`` means no heartbeat
from the job for a while and is the one status a job may leave for any earlier one; ``Paused`` is set
by a user; ``Unknown`` is what the service reports when no other status applies. azure-ai-ml stops
following a job at ``Completed``, ``Failed``, ``Canceled``, ``NotResponding`` and ``Paused``; so does the
plugin, and it stops waiting on ``Unknown`` once that has lasted a bounded time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

COMPLETED = "Completed"
UNKNOWN = "Unknown"
ENDED_UNSUCCESSFULLY = frozenset({"Failed", "Canceled"})

EXIT_COMPLETED = 0
EXIT_NOT_COMPLETED = 1  # the job ended without completing (Failed, Canceled)
EXIT_NOT_ENDED = 3  # stopped waiting while the job has not ended (NotResponding, Paused, Unknown, time limit)

# MLflow's RunStatus names for each Azure ML status (MLflow has no paused or unknown run).
_MLFLOW_STATUS = {
    "NotStarted": "SCHEDULED",
    "Starting": "SCHEDULED",
    "Provisioning": "SCHEDULED",
    "Preparing": "SCHEDULED",
    "Queued": "SCHEDULED",
    "Paused": "SCHEDULED",  # waits for a user to resume it
    "Running": "RUNNING",
    "Finalizing": "RUNNING",
    "CancelRequested": "RUNNING",
    "NotResponding": "RUNNING",  # its MLflow run is still open; the job may come back
    "Unknown": "RUNNING",
    "Completed": "FINISHED",
    "Failed": "FAILED",
    "Canceled": "KILLED",
}

_NOT_ENDED_HINT = {
    "NotResponding": "Azure ML has had no heartbeat from it; it may still recover",
    "Paused": "a user paused it; resume or cancel it in Azure ML Studio",
    "Unknown": "Azure ML cannot tell its state",
}


@cache
def terminal_statuses() -> frozenset[str]:
    """azure-ai-ml's own set (it includes ``NotResponding`` and ``Paused``)."""
    from kedro_azureml_mlflow.core.compat import sdk_terminal_statuses

    return sdk_terminal_statuses()


def normalise(status: str) -> str:
    """A status the service may add later is handled as ``Unknown``."""
    return status if status in _MLFLOW_STATUS else UNKNOWN


def mlflow_status(status: str) -> str:
    """The MLflow ``RunStatus`` name for an Azure ML job status."""
    return _MLFLOW_STATUS[normalise(status)]


@dataclass(frozen=True)
class WaitEnd:
    """How following a job ended: its last status, and whether the plugin stopped waiting on its own."""

    job_name: str
    status: str
    gave_up_after_seconds: float | None = None

    @property
    def exit_code(self) -> int:
        if self.status == COMPLETED:
            return EXIT_COMPLETED
        if self.status in ENDED_UNSUCCESSFULLY:
            return EXIT_NOT_COMPLETED
        return EXIT_NOT_ENDED

    def summary(self, reason: str | None = None) -> str:
        """One line for the user: what happened and what to do next."""
        if self.status == COMPLETED:
            return f"Job {self.job_name} completed"
        if self.status in ENDED_UNSUCCESSFULLY:
            return self.unsuccessful(reason)
        return self.not_ended()

    def unsuccessful(self, reason: str | None = None) -> str:
        """The line for a job that ended without completing, with Azure ML's reason when there is one."""
        return f"Job {self.job_name} ended {self.status}" + (f": {reason}" if reason else "")

    def not_ended(self) -> str:
        """The line for a job the plugin stopped following: why, and how to check on it or stop it."""
        name = self.job_name
        hint = _NOT_ENDED_HINT.get(self.status, "it has not ended")
        waited = f" after waiting {self.gave_up_after_seconds:.0f} s" if self.gave_up_after_seconds is not None else ""
        return (
            f"Job {name} is {self.status} ({hint}); stopped following it{waited}. "
            f"See kedro azureml status {name}; kedro azureml cancel {name} stops it"
        )


@dataclass(frozen=True)
class WaitLimits:
    """Bounds on following a job: in all, in ``Unknown``, and between two polls."""

    timeout_seconds: float = 24 * 3600.0
    unknown_seconds: float = 300.0
    max_poll_seconds: float = 5.0

    @classmethod
    def from_minutes(cls, timeout_minutes: float, unknown_minutes: float) -> WaitLimits:
        return cls(timeout_seconds=timeout_minutes * 60, unknown_seconds=unknown_minutes * 60)
