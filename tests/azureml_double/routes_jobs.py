"""Jobs: submit (PUT), get, list and cancel (with its long-running operation), as the management front end does.

What a job does once submitted is the emulated compute's (``compute.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request
from tests.azureml_double.routing import PROVIDER, WS, router, user_error_404
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


@router.route("PUT", WS + r"/jobs/(?P<name>[^/]+)")
def put_job(d: Double, req: Request, ws: Workspace, name: str):
    body = req.json() or {}
    job, created = d.compute.submit(ws, name, body)
    return (201 if created else 200), job.to_rest()


@router.route("GET", WS + r"/jobs/(?P<name>[^/]+)")
def get_job(d: Double, req: Request, ws: Workspace, name: str):
    job = ws.jobs.get(name)
    if job is None:
        raise user_error_404(f"Job {name} not found.", f"The specified resource name '{name}' was not found.")
    return 200, job.to_rest()


@router.route("GET", WS + r"/jobs")
def list_jobs(d: Double, req: Request, ws: Workspace):
    jobs = sorted(ws.jobs.values(), key=lambda j: j.created, reverse=True)
    return 200, {"value": [j.to_rest() for j in jobs]}


@router.route("POST", WS + r"/jobs/(?P<name>[^/]+)/cancel")
def cancel_job(d: Double, req: Request, ws: Workspace, name: str):
    """Like Azure: an ended job answers 200 with nothing to poll; otherwise 202 and a subscription-scoped
    operation, without ``Retry-After`` (the SDK then polls every 30 s unless told otherwise)."""
    job = ws.jobs.get(name)
    if job is None:
        get_job(d, req, ws, name)  # raises the 404
    if job.ended:
        return 200, None
    d.compute.cancel(job)
    return 202, b"null", {"Location": _cancel_operation_url(d, ws, name), "x-ms-async-operation-timeout": "PT1H"}


def _cancel_operation_url(d: Double, ws: Workspace, name: str) -> str:
    return (
        f"{d.base_url}/subscriptions/{ws.subscription_id}/providers/{PROVIDER}/locations/{ws.location}"
        f"/mfeOperationResults/jc:{ws.workspace_id}:{name}?api-version=2023-04-01-preview"
    )


@router.route(
    "GET",
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices"
    r"/locations/(?P<loc>[^/]+)/mfeOperationResults/jc:(?P<wsid>[^:/]+):(?P<name>[^/]+)",
)
def cancel_operation(d: Double, req: Request, sub: str, loc: str, wsid: str, name: str):
    ws = next((w for w in d.workspaces.values() if w.workspace_id == wsid), None)
    job = ws.jobs.get(name) if ws is not None else None
    if job is None:
        raise HttpError(404, "NotFound", f"operation jc:{wsid}:{name} not found")
    if job.ended:
        return 200, None
    url = _cancel_operation_url(d, ws, name)
    return 202, {}, {"Location": url, "Azure-AsyncOperation": url}
