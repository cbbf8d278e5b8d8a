"""Test-only control of emulated jobs: put a job in any status Azure ML can report.

``POST /_double/jobs/{name}/status {"status": "NotResponding"}`` makes the job and run-history APIs report
that status (the emulated process keeps running; cancelling the job still ends it); ``{"status": null}``
gives the job its own status back. Any value of the service's ``JobStatus`` enum is accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import router

if TYPE_CHECKING:
    from tests.azureml_double.server import Double

JOB_STATUSES = (
    "NotStarted",
    "Starting",
    "Provisioning",
    "Preparing",
    "Queued",
    "Running",
    "Finalizing",
    "CancelRequested",
    "Completed",
    "Failed",
    "Canceled",
    "NotResponding",
    "Paused",
    "Unknown",
)


@router.route("POST", r"/_double/jobs/(?P<name>[^/]+)/status", auth=False)
def force_job_status(d: Double, req: Request, name: str) -> tuple[int, dict[str, Any]]:
    status = (req.json() or {}).get("status")
    if status is not None and status not in JOB_STATUSES:
        raise HttpError(400, "BadRequest", f"unknown job status {status!r}; known: {', '.join(JOB_STATUSES)}")
    for ws in d.workspaces.values():
        job = ws.jobs.get(name)
        if job is not None:
            with job.lock:
                job.forced_status = status
            return 200, job.internal()
    raise HttpError(404, "NotFound", f"no job {name}")
