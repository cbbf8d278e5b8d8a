"""Run history: a job's run (status, ``logFiles``) and its log files behind signed URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request, azure_error
from tests.azureml_double.routing import HISTORY, router
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)/details")
def run_details(d: Double, req: Request, ws: Workspace, run_id: str):
    job = ws.jobs.get(run_id)
    if job is None:
        raise HttpError(
            404,
            "UserError",
            f"Run {run_id} was not found",
            body=azure_error("UserError", f"Run {run_id} was not found", innerError={"code": "NotFound"}),
        )
    return 200, job.run_details(d.base_url)


@router.route("GET", HISTORY + r"/runs/(?P<run_id>[^/]+)")
def run_get(d: Double, req: Request, ws: Workspace, run_id: str):
    details = run_details(d, req, ws, run_id)[1]
    return 200, {
        k: details[k]
        for k in ("runId", "status", "startTimeUtc", "endTimeUtc", "target", "tags", "properties", "createdTimeUtc")
    }


@router.route("GET", r"/_logs/(?P<wsid>[^/]+)/(?P<run_id>[^/]+)/(?P<log>.+)", auth=False)
def log_file(d: Double, req: Request, wsid: str, run_id: str, log: str):
    if req.query.get("sig") != d.config["log_sig"]:
        return 403, "<Error><Code>AuthenticationFailed</Code></Error>", {"Content-Type": "application/xml"}
    for ws in d.workspaces.values():
        if ws.workspace_id == wsid and run_id in ws.jobs:
            job = ws.jobs[run_id]
            text = job.read_log(log)
            if text is None:
                break
            return 200, text.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"}
    return 404, "<Error><Code>BlobNotFound</Code></Error>", {"Content-Type": "application/xml"}
